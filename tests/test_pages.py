"""The pages of HODO resources: every finding, reference and section, a sample of terms, the
article, the ``/term`` page of reused terms, and hostile data shown as text, never as a link.

Pages are read with the standard library's HTML parser: each piece of text is checked with
the language it is in (its nearest ``lang`` attribute) and the link it sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.core.prefix_table import PREFIX_TABLE
from hodo.engine.store import Release
from hodo.web import create_app
from tests.terms import CHRONIC_LIVER_DISEASE, HEPATIC_OSTEODYSTROPHY, HODO, OBO, OSTEOPOROSIS

UMLS = PREFIX_TABLE["UMLS"][0]
ONTOLOGY = Path(__file__).parents[1] / "ontology"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
VOID = frozenset({"br", "img", "link", "meta", "input", "hr", "wbr", "source", "area", "col"})


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _subjects_of_type(paths: list[Path], type_iri: str) -> list[str]:
    """IRIs typed ``type_iri`` in the source files: the parameters, known before the build."""
    found: set[str] = set()
    for path in paths:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if quad.predicate.value == RDF_TYPE and quad.object.value == type_iri:
                found.add(quad.subject.value)
    return sorted(found)


FINDINGS = _subjects_of_type(sorted((ONTOLOGY / "findings").glob("*.ttl")), HODO + "HODO_0000110")
REFERENCES = _subjects_of_type([ONTOLOGY / "article.ttl"], DCTERMS + "BibliographicResource")
SECTIONS = _subjects_of_type([ONTOLOGY / "article.ttl"], "http://purl.org/spar/doco/Section")


# ---------------------------------------------------------------------------------------------
# Reading pages


@dataclass
class Piece:
    """A run of text, the language it is in, and the href of the link around it (if any)."""

    text: str
    lang: str
    href: str | None
    classes: tuple[str, ...]


class Page(HTMLParser):
    """A parsed page: its text pieces, links, and anything that could run script."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[Piece] = []
        self.links: list[tuple[str, str]] = []
        self.handlers: list[str] = []
        self.inline_scripts = 0
        self._stack: list[tuple[str, str, str | None, tuple[str, ...]]] = []
        self._link_text: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if tag in VOID:
            return
        lang = values.get("lang") or (self._stack[-1][1] if self._stack else "")
        href = values.get("href") if tag == "a" else (self._stack[-1][2] if self._stack else None)
        classes = (self._stack[-1][3] if self._stack else ()) + tuple(
            (values.get("class") or "").split())
        self._stack.append((tag, lang or "", href, classes))
        if tag == "a":
            self._link_text.append([])

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, _, href, _ = self._stack.pop()
            if open_tag == "a":
                self.links.append((href or "", "".join(self._link_text.pop()).strip()))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not data.strip() or not self._stack:
            return
        _, lang, href, classes = self._stack[-1]
        self.pieces.append(Piece(data.strip(), lang, href, classes))
        for texts in self._link_text:
            texts.append(data)

    def lang_of(self, text: str) -> set[str]:
        """The languages ``text`` appears in on the page."""
        return {p.lang for p in self.pieces if p.text == text}

    def hrefs(self) -> list[str]:
        return [href for href, _ in self.links]

    def linked(self, text: str) -> list[str]:
        """The hrefs of the links whose text is ``text``."""
        return [href for href, shown in self.links if shown == text]

    def in_class(self, cls: str) -> list[Piece]:
        return [p for p in self.pieces if cls in p.classes]


def read(client: FlaskClient, path: str, lang: str = "en") -> Page:
    response = client.get(with_lang(path, lang), headers={"Accept": "text/html"})
    assert response.status_code == 200, path
    assert response.headers["Content-Language"] == lang
    page = Page()
    page.feed(response.get_data(as_text=True))
    page.close()
    return page


def with_lang(path: str, lang: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def local(iri: str) -> str:
    return "/" + iri.removeprefix(HODO)


def labels(store: ox.Store, iri: str, prop: str = RDFS + "label") -> dict[str, str]:
    """One literal per language of ``prop``: what the page must show."""
    found: dict[str, str] = {}
    for quad in store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(prop), None):
        if isinstance(quad.object, ox.Literal) and quad.object.language:
            found.setdefault(quad.object.language, quad.object.value)
    return found


def objects(store: ox.Store, iri: str, prop: str) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(ox.NamedNode(iri),
                                                             ox.NamedNode(prop), None)}


def subjects(store: ox.Store, prop: str, iri: str) -> set[str]:
    return {q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(prop),
                                                              ox.NamedNode(iri))}


def shows_both_languages(page: Page, texts: dict[str, str]) -> None:
    """Each text is on the page, marked as the language it is in."""
    for lang, text in texts.items():
        assert HTML_LANG[lang] in page.lang_of(text), (text, page.lang_of(text))


def links_to(page: Page, path: str) -> bool:
    return any(urlsplit(href).path == path for href in page.hrefs())


# ---------------------------------------------------------------------------------------------
# Every finding, reference and section


def test_the_sources_name_what_is_parametrised() -> None:
    assert len(FINDINGS) > 150 and len(REFERENCES) >= 30 and len(SECTIONS) >= 15


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("finding", FINDINGS, ids=lambda iri: iri.removeprefix(HODO))
def test_finding_page(client: FlaskClient, release: Release, finding: str, lang: str) -> None:
    store = release.store
    page = read(client, local(finding), lang)
    shows_both_languages(page, labels(store, finding))
    sentences = labels(store, finding, HODO + "HODO_0000201")
    assert set(sentences) == {"en", "zh"}
    shows_both_languages(page, sentences)
    for reference in objects(store, finding, DCTERMS + "source"):
        assert links_to(page, local(reference)), reference
    for section in objects(store, finding, HODO + "HODO_0000202"):
        assert links_to(page, local(section))
    negated = "true" in objects(store, finding, "https://w3id.org/biolink/vocab/negated")
    assert bool(page.in_class("negated")) == negated
    for other in objects(store, finding, HODO + "HODO_0000208"):
        assert links_to(page, local(other))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("reference", REFERENCES, ids=lambda iri: iri.removeprefix(HODO))
def test_reference_page_lists_every_finding_citing_it(client: FlaskClient, release: Release,
                                                      reference: str, lang: str) -> None:
    page = read(client, local(reference), lang)
    shows_both_languages(page, labels(release.store, reference))
    citing = subjects(release.store, DCTERMS + "source", reference) & set(FINDINGS)
    assert citing, reference
    for finding in citing:
        assert links_to(page, local(finding)), finding
    number = objects(release.store, reference, HODO + "HODO_0000206").pop()
    assert any(p.text == f"[{number}]" for p in page.pieces)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("section", SECTIONS, ids=lambda iri: iri.removeprefix(HODO))
def test_section_page_lists_its_findings(client: FlaskClient, release: Release, section: str,
                                         lang: str) -> None:
    page = read(client, local(section), lang)
    shows_both_languages(page, labels(release.store, section))
    for finding in subjects(release.store, HODO + "HODO_0000202", section):
        assert links_to(page, local(finding)), finding


def _reading_order(release: Release) -> list[str]:
    """The sections as the article prints them: abstract, introduction, then by number."""
    def key(section: str) -> tuple[int, tuple[int, ...]]:
        locator = objects(release.store, section, "http://purl.org/ontology/bibo/locator")
        if not locator:
            return (0, (0,)) if section.endswith("abstract") else (0, (1,))
        return 1, tuple(int(part) for part in locator.pop().split("."))
    return sorted(SECTIONS, key=key)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_article_lists_every_section_in_order_with_its_findings(
        client: FlaskClient, release: Release, lang: str) -> None:
    page = read(client, "/article", lang)
    section_paths = {local(s): s for s in SECTIONS}
    listed = [urlsplit(href).path for href, _ in page.links
              if urlsplit(href).path in section_paths and "toc" in _classes_of(page, href)]
    assert listed == [local(s) for s in _reading_order(release)]
    cited = [int(urlsplit(h).path.rsplit("-", 1)[-1]) for h in page.hrefs()
             if "/article-reference-" in h]
    assert cited == sorted(cited) and len(cited) == len(REFERENCES)
    finding_links = [urlsplit(h).path for h in page.hrefs() if "/finding-" in h]
    assert set(finding_links) >= {local(f) for f in FINDINGS}
    # a section's findings follow it and come before the next section (the ledger, sentence by
    # sentence, also names findings a sentence restates from another section)
    order = [urlsplit(p.href).path for p in page.pieces
             if p.href and "ledger" not in p.classes
             and (urlsplit(p.href).path in section_paths or "/finding-" in p.href)]
    current = None
    for path in order:
        if path in section_paths:
            current = section_paths[path]
        elif current is not None:
            finding = HODO + path.lstrip("/")
            assert objects(release.store, finding, HODO + "HODO_0000202") == {current}, path


def _classes_of(page: Page, href: str) -> tuple[str, ...]:
    return next((p.classes for p in page.pieces if p.href == href), ())


# ---------------------------------------------------------------------------------------------
# Terms


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_term_page_of_a_hodo_term(client: FlaskClient, release: Release, lang: str) -> None:
    page = read(client, local(HEPATIC_OSTEODYSTROPHY), lang)
    shows_both_languages(page, labels(release.store, HEPATIC_OSTEODYSTROPHY))
    shows_both_languages(page, labels(release.store, HEPATIC_OSTEODYSTROPHY,
                                      OBO + "IAO_0000115"))
    assert "HO" in {p.text for p in page.in_class("abbreviations")}
    # parent: a reused MONDO term, linked to its /term page, labelled in the page language
    parent = labels(release.store, OSTEOPOROSIS)[lang]
    term_links = [h for h in page.linked(parent) if urlsplit(h).path == "/term"]
    assert term_links and parse_qs(urlsplit(term_links[0]).query)["iri"] == [OSTEOPOROSIS]
    # the restriction, readable: "disease has basis in some chronic liver disease"
    restriction = [p.text for p in page.in_class("restriction")]
    assert labels(release.store, CHRONIC_LIVER_DISEASE)[lang] in restriction
    assert labels(release.store, OBO + "RO_0004019")[lang] in restriction
    # findings about it, each with its sentence and references
    about = subjects(release.store, "http://purl.org/oban/association_has_subject",
                     HEPATIC_OSTEODYSTROPHY) | subjects(
        release.store, "http://purl.org/oban/association_has_object", HEPATIC_OSTEODYSTROPHY)
    assert about
    for finding in about:
        assert links_to(page, local(finding))
        shows_both_languages(page, labels(release.store, finding, HODO + "HODO_0000201"))
    # mappings link out to the external IRIs, over http(s) only
    for target in objects(release.store, HEPATIC_OSTEODYSTROPHY, SKOS + "broadMatch"):
        assert target in page.hrefs(), target
    # raw RDF
    for ext in ("ttl", "jsonld", "rdf", "nt"):
        assert f"{local(HEPATIC_OSTEODYSTROPHY)}.{ext}" in page.hrefs()


def test_term_page_shows_children_and_where_it_is_used(client: FlaskClient,
                                                       release: Release) -> None:
    page = read(client, local(CHRONIC_LIVER_DISEASE), "zh")
    for child in subjects(release.store, RDFS + "subClassOf", CHRONIC_LIVER_DISEASE):
        if child.startswith(HODO):
            assert links_to(page, local(child)), child
        else:  # a reused term's page is /term?iri=
            assert any(parse_qs(urlsplit(h).query).get("iri") == [child]
                       for h in page.hrefs()), child
    used = [p for p in page.in_class("used-in") if p.href]
    assert any(urlsplit(p.href or "").path == local(HEPATIC_OSTEODYSTROPHY) for p in used)


def test_relations_both_ways_by_their_labels(client: FlaskClient, release: Release) -> None:
    """An outgoing relation of a term, and the statements of others that point at a term."""
    page = read(client, "/HODO_0000540", "zh")
    prop = labels(release.store, HODO + "HODO_0000598")["zh"]
    chapter = HODO + "classic-suwen-shanggu-tianzhen"
    assert page.linked(prop) and links_to(page, local(chapter))
    assert {p.text for p in page.in_class("relations")} >= {prop,
                                                              labels(release.store, chapter)["zh"]}
    sample_size = read(client, "/HODO_0000220", "en")
    pointing = subjects(release.store, HODO + "HODO_0000204", HODO + "HODO_0000220")
    assert pointing
    for quantity in pointing:
        assert links_to(sample_size, local(quantity))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reused_term_page(client: FlaskClient, release: Release, lang: str) -> None:
    response = client.get("/term", query_string={"iri": OSTEOPOROSIS, "lang": lang})
    assert response.status_code == 200
    page = Page()
    page.feed(response.get_data(as_text=True))
    shows_both_languages(page, labels(release.store, OSTEOPOROSIS))
    assert OSTEOPOROSIS in page.hrefs()  # where it comes from
    # children: HODO's own term among them; the mapping that points at it
    assert links_to(page, local(HEPATIC_OSTEODYSTROPHY))
    assert "skos:broadMatch" in {p.text for p in page.pieces}
    # cross-references as links where HODO knows the prefix (MONDO's data here has none)
    osteopenia = read(client, "/term?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FHP_0000938", lang)
    assert osteopenia.linked("UMLS:C0747078") == [UMLS + "C0747078"]
    # raw RDF through the endpoint
    describe = [h for h in page.hrefs() if urlsplit(h).path == "/sparql"
                and "query" in parse_qs(urlsplit(h).query)]
    queries = {parse_qs(urlsplit(h).query)["query"][0] for h in describe}
    assert queries == {f"DESCRIBE <{OSTEOPOROSIS}>"}
    assert client.get(describe[0]).status_code == 200
    # findings with the relation as their property are on the relation's page
    relation = client.get("/term", query_string={"iri": OBO + "RO_0002610"})
    assert b"finding-0301" in relation.data


def test_term_route_redirects_hodo_iris_and_refuses_the_rest(client: FlaskClient) -> None:
    response = client.get("/term", query_string={"iri": HEPATIC_OSTEODYSTROPHY})
    assert response.status_code in (301, 302, 303, 307, 308)
    assert urlsplit(response.headers["Location"]).path == local(HEPATIC_OSTEODYSTROPHY)
    for iri in ("javascript:alert(1)", "http://example.org/nothing", "", "not an iri"):
        assert client.get("/term", query_string={"iri": iri}).status_code == 404


def test_external_term_in_a_hodo_page_links_to_its_term_page(client: FlaskClient) -> None:
    page = read(client, "/finding-0301")
    assert any(urlsplit(h).path == "/term"
               and parse_qs(urlsplit(h).query)["iri"] == [OSTEOPOROSIS] for h in page.hrefs())


def test_inferred_parent_is_marked(release: Release) -> None:
    store = ox.Store()
    store.extend(release.store.quads_for_pattern(None, None, None, None))
    store.add(ox.Quad(ox.NamedNode(HEPATIC_OSTEODYSTROPHY), ox.NamedNode(RDFS + "subClassOf"),
                      ox.NamedNode(OBO + "MONDO_0005154"),
                      ox.NamedNode(HODO + "graph/inferred")))
    client = create_app({"TESTING": True},
                        release=Release(store, release.version, release.path)).test_client()
    page = read(client, local(HEPATIC_OSTEODYSTROPHY))
    parents = page.in_class("parents")
    texts = [p.text for p in parents]
    assert "liver disorder" in texts or any("liver" in t for t in texts)
    assert any("inferred" in p.classes for p in parents)
    child = read(client, "/term?iri=" + OBO + "MONDO_0005154")
    assert any("inferred" in p.classes for p in child.in_class("children"))


def test_generic_page_for_other_resources(client: FlaskClient) -> None:
    for path in ("/dataset", "/journal", "/graph/findings"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, path


# ---------------------------------------------------------------------------------------------
# Hostile data

MARKUP = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
BAD_IRIS = ("javascript:alert(1)", "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
            "JaVaScRiPt:alert(2)")
HOSTILE_FINDING = HODO + "finding-9901"


def _hostile_quads() -> list[ox.Quad]:
    graph = ox.NamedNode(HODO + "graph/findings")
    term, finding = ox.NamedNode(HEPATIC_OSTEODYSTROPHY), ox.NamedNode(HOSTILE_FINDING)

    def quad(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> ox.Quad:
        return ox.Quad(s, ox.NamedNode(p), o, graph)

    quads = [
        quad(term, OBO + "IAO_0000115", ox.Literal(MARKUP, language="en")),
        quad(term, "http://www.geneontology.org/formats/oboInOwl#hasExactSynonym",
             ox.Literal(MARKUP, language="zh")),
        quad(finding, RDF_TYPE, ox.NamedNode(HODO + "HODO_0000110")),
        quad(finding, RDFS + "label", ox.Literal(MARKUP, language="en")),
        quad(finding, "http://purl.org/oban/association_has_subject", term),
        quad(finding, HODO + "HODO_0000201", ox.Literal(MARKUP, language="zh")),
        quad(finding, HODO + "HODO_0000205", ox.Literal(MARKUP, language="en")),
        quad(finding, DCTERMS + "source", ox.NamedNode(HODO + "article-reference-20")),
    ]
    for bad in BAD_IRIS:
        node = ox.NamedNode(bad)
        quads += [
            quad(node, RDFS + "label", ox.Literal(MARKUP, language="en")),
            quad(term, SKOS + "exactMatch", node),
            quad(term, RDFS + "subClassOf", node),
            quad(node, RDFS + "subClassOf", term),
            quad(finding, "http://purl.org/oban/association_has_object", node),
            quad(finding, HODO + "HODO_0000208", node),
        ]
    return quads


@pytest.fixture(scope="module")
def hostile_app(release: Release) -> Flask:
    store = ox.Store()
    store.extend(release.store.quads_for_pattern(None, None, None, None))
    store.extend(_hostile_quads())
    return create_app({"TESTING": True}, release=Release(store, release.version, release.path))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", [local(HEPATIC_OSTEODYSTROPHY), local(HOSTILE_FINDING),
                                  "/article-reference-20", "/article", f"/term?iri={OSTEOPOROSIS}"])
def test_hostile_data_is_text_and_never_a_link(hostile_app: Flask, path: str, lang: str) -> None:
    client = hostile_app.test_client()
    response = client.get(with_lang(path, lang), headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = Page()
    page.feed(html)
    assert page.inline_scripts == 0 and page.handlers == []
    assert "<script>alert" not in html and "<img src=x" not in html
    for href in page.hrefs():
        scheme = urlsplit(href).scheme.lower()
        assert scheme in ("", "http", "https"), href
        assert "javascript" not in href.lower() or urlsplit(href).path == "/sparql", href
    if path not in ("/article", f"/term?iri={OSTEOPOROSIS}"):
        assert any(MARKUP in p.text for p in page.pieces), "hostile text must be shown, escaped"


def test_hostile_iris_are_shown_as_text(hostile_app: Flask) -> None:
    page = read(hostile_app.test_client(), local(HEPATIC_OSTEODYSTROPHY))
    unlinked = {p.text for p in page.pieces if p.href is None}
    assert set(BAD_IRIS) <= unlinked
    assert not any(p.text in BAD_IRIS for p in page.pieces if p.href)
    # the only markup-labelled link is the hostile finding's, to its page on this site
    assert {urlsplit(p.href or "").path for p in page.pieces
            if p.href and MARKUP in p.text} == {local(HOSTILE_FINDING)}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", ["/", "/HODO_0000001", "/ontology", "/map", "/downloads"])
def test_the_header_keeps_the_language_and_links_the_validation_page(
        client: FlaskClient, path: str, lang: str) -> None:
    page = read(client, path, lang)
    assert f"/sparql?lang={lang}" in page.hrefs()
    assert f"/validate?lang={lang}" in page.hrefs()


def test_the_ontology_page_links_the_validation_page(client: FlaskClient) -> None:
    page = read(client, "/ontology", "zh")
    words = "用这些形状约束和 HODO 的质量检查规则校验您自己的数据"
    assert page.linked(words) == ["/validate?lang=zh"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_definitions_and_notes_come_in_the_page_language_first(client: FlaskClient,
                                                               lang: str) -> None:
    html = client.get(f"/HODO_0000001?lang={lang}").get_data(as_text=True)
    languages = [tag.split("-")[0] for tag in
                 re.findall(r'<p class="definition" lang="([^"]+)">', html)]
    assert sorted(languages) == ["en", "zh"], languages
    assert languages[0] == lang
