"""The ontology's documentation page: header, class tree, properties, shapes and counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine.store import Release
from hodo.site import docs
from hodo.web.state import state

HODO = "https://w3id.org/hodo/"


class TreeParser(HTMLParser):
    """The parents each class is listed under in the page's class tree, and every lang tag."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parents: dict[str, set[str | None]] = {}
        self.langs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("lang"):
            self.langs.append(values["lang"] or "")
        if tag == "li":
            iri = values.get("data-iri") if values.get("class") == "class-node" else None
            if iri:
                above = next((s for s in reversed(self.stack) if s), None)
                self.parents.setdefault(iri, set()).add(above)
            self.stack.append(iri)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.stack.pop()


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _page(client: FlaskClient, lang: str) -> tuple[str, TreeParser]:
    response = client.get(f"/ontology?lang={lang}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    parser = TreeParser()
    parser.feed(text)
    return text, parser


@pytest.mark.parametrize(("lang", "html_lang", "other", "title"), [
    ("en", "en", "zh-Hans", "Ontology documentation"), ("zh", "zh-Hans", "en", "本体文档")])
def test_page_language(client: FlaskClient, lang: str, html_lang: str, other: str,
                       title: str) -> None:
    text, parser = _page(client, lang)
    assert f'<html lang="{html_lang}">' in text
    assert title in text
    assert set(parser.langs) <= {html_lang, other}
    assert parser.langs[0] == html_lang


def test_header_licence_and_version(client: FlaskClient, release: Release) -> None:
    head = docs.header(release.store)
    assert head.version == release.version
    assert head.version_iri and head.license
    text, _ = _page(client, "en")
    for value in (head.iri, head.version_iri, f'href="{head.license}"', head.title["en"]):
        assert value in text
    assert f"version = {{{head.version}}}" in text


def test_citation_states_only_the_data(release: Release) -> None:
    head = docs.header(release.store)
    cite = docs.citation(head)
    assert head.title["en"] in cite and head.iri in cite
    assert ("author" in cite) == bool(head.creators)


def test_every_class_sits_under_its_parents(client: FlaskClient, release: Release) -> None:
    store = release.store
    named = set(docs.classes(store)) - {"http://www.w3.org/2002/07/owl#Thing"}
    parents = docs.direct_parents(store, named)
    _, parser = _page(client, "en")
    hodo_classes = {c for c in named if c.startswith(HODO)}
    assert hodo_classes, "HODO has classes"
    assert set(parser.parents) == named
    for iri in named:
        expected = parents[iri] or {None}
        assert parser.parents[iri] == expected, iri


def test_tree_follows_asserted_subclass(release: Release) -> None:
    """hepatic osteodystrophy is asserted a subclass of MONDO osteoporosis."""
    named = set(docs.classes(release.store))
    parents = docs.direct_parents(release.store, named)
    assert "http://purl.obolibrary.org/obo/MONDO_0005298" in parents[HODO + "HODO_0000001"]


def _sparql_count(release: Release, text: str) -> int:
    rows = list(release.store.query(docs.PREFIXES + text, use_default_graph_as_union=True))
    return int(rows[0]["n"].value)  # type: ignore[index]


def test_counts_equal_sparql(client: FlaskClient, release: Release) -> None:
    text, _ = _page(client, "en")
    found = docs.counts(release.store)
    for name, query in docs.COUNT_QUERIES.items():
        assert found[name] == _sparql_count(release, query)
        assert f'data-count="{name}">{found[name]}<' in text
    assert found["findings"] > 100 and found["references"] == 39
    for name in docs.GRAPHS:
        n = _sparql_count(release, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{HODO}graph/{name}> "
                                   "{ ?s ?p ?o } }")
        assert f'data-graph="{name}">{n}<' in text


def test_every_shape_listed(client: FlaskClient) -> None:
    text, _ = _page(client, "zh")
    shapes = docs.shapes()
    assert len(shapes) > 20
    for shape in shapes:
        assert f'<code class="shape-name">{shape.name}</code>' in text.replace("&gt;", ">")
        if shape.message.get("zh"):
            assert shape.message["zh"] in text


def test_properties_and_reused(client: FlaskClient, release: Release) -> None:
    text, _ = _page(client, "en")
    props = docs.properties(release.store)
    assert {p.kind for p in props} == {"ObjectProperty", "DatatypeProperty", "AnnotationProperty"}
    for prop in props:
        assert f'data-iri="{prop.iri}"' in text
    reused = dict(docs.reused_terms(release.store))
    assert "HODO" not in reused and reused["MONDO"] > 0
    assert f"<td>MONDO</td><td class=\"number\">{reused['MONDO']}</td>" in text


def test_page_is_computed_once(client: FlaskClient) -> None:
    client.get("/ontology")
    cached = state(client.application).docs["tree"]
    client.get("/ontology?lang=zh")
    assert state(client.application).docs["tree"] is cached


def test_no_inline_style_or_script(client: FlaskClient) -> None:
    """The CSP allows neither: every style comes from docs.css, every script from a file."""
    text, _ = _page(client, "en")
    assert not re.search(r"\sstyle=|<style|<script(?![^>]*\ssrc=)", text)
