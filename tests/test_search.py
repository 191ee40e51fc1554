"""Search and autocomplete: every name of every term finds it, in both languages."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from hodo.engine.store import Release
from hodo.site.search import (
    CLOSE,
    EXACT_LABEL,
    EXACT_SYNONYM,
    SearchIndex,
    normalise,
    sort_key,
)
from tests.support.browser import Sink, browser, open_tab, playwright, sink, site

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

PBC = "http://purl.obolibrary.org/obo/MONDO_0005388"
HO = "https://w3id.org/hodo/HODO_0000001"


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


@pytest.fixture(scope="module")
def index(release: Release) -> SearchIndex:
    return SearchIndex.from_store(release.store)




def _source_names() -> list[tuple[str, str]]:
    """(IRI, name) of every name of every labelled term in the sources the release is built
    from, read at collection time so that each one is a test of its own."""
    store = ox.Store()
    for path in sorted((Path(__file__).parents[1] / "ontology").rglob("*.ttl")):
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE,
                        to_graph=ox.NamedNode(path.as_uri()))
    index = SearchIndex.from_store(store)
    return sorted({(t.iri, n.text) for t in index.terms.values() for n in t.names})


SOURCE_NAMES = _source_names()


def test_names_cover_the_release(index: SearchIndex) -> None:
    """The parametrised names are those of the release, both languages and abbreviations."""
    released = {(t.iri, n.text) for t in index.terms.values() for n in t.names}
    assert released == set(SOURCE_NAMES)
    kinds = {(n.lang, n.kind) for t in index.terms.values() for n in t.names}
    assert kinds >= {("en", "label"), ("zh", "label"), ("en", "synonym"), ("zh", "synonym"),
                     ("en", "abbreviation")}


@pytest.mark.parametrize(("iri", "name"), SOURCE_NAMES)
def test_every_name_finds_its_term(index: SearchIndex, iri: str, name: str) -> None:
    """Each label, synonym and abbreviation, English and Chinese, finds its term on the first
    page, among the terms that share that exact name."""
    _, hits = index.search(name, limit=10)
    exact = [h.term.iri for h in hits if h.rank in (EXACT_LABEL, EXACT_SYNONYM)]
    assert iri in exact


def test_chinese_substring(index: SearchIndex) -> None:
    _, hits = index.search("胆汁", limit=50)
    assert PBC in [h.term.iri for h in hits]
    assert all("胆汁" in h.name.text for h in hits)


@pytest.mark.parametrize(("query", "iri"), [("PBC", PBC), ("pbc", PBC), ("ＰＢＣ", PBC),
                                             ("HO", HO), ("肝性骨病", HO),
                                             ("hepatic osteodystrophy", HO),
                                             ("Hepatic  Osteodystrophy", HO)])
def test_exact_names_first(index: SearchIndex, query: str, iri: str) -> None:
    _, hits = index.search(query)
    assert hits[0].term.iri == iri


def test_ranking_order(index: SearchIndex) -> None:
    _, hits = index.search("osteo", limit=500)
    keys = [sort_key(h) for h in hits]
    assert keys == sorted(keys)
    _, hits = index.search("o", limit=500)
    assert {h.rank for h in hits} >= {2, 3, 4}  # prefix, word prefix, substring all occur


def test_word_prefix_beats_substring(index: SearchIndex) -> None:
    _, hits = index.search("liver", limit=500)
    seen_substring = False
    for hit in hits:
        if hit.rank == 4:
            seen_substring = True
        else:
            assert not seen_substring or sort_key(hit)[0]


def test_pagination(index: SearchIndex) -> None:
    total, everything = index.search("o", limit=500)
    assert total > 40
    pages = [index.search("o", offset=o, limit=20)[1] for o in range(0, 40, 20)]
    assert [h.term.iri for page in pages for h in page] == [h.term.iri for h in everything[:40]]


def test_filters(index: SearchIndex) -> None:
    _, hits = index.search("o", limit=500, kinds=["property"])
    assert hits and all(h.term.kind == "property" for h in hits)
    _, hits = index.search("o", limit=500, prefixes=["mondo"])
    assert hits and all(h.term.prefix == "MONDO" for h in hits)


def test_normalise() -> None:
    assert normalise("ＨＯ") == "ho"


def test_speed(index: SearchIndex) -> None:
    started = time.perf_counter()
    for query in ("o", "胆汁", "PBC", "bone loss", "osteo") * 20:
        index.search(query)
    assert (time.perf_counter() - started) / 100 < 0.05  # generous; ~1 ms measured


@pytest.mark.parametrize("url", ["/api/suggest?q=", "/api/suggest?q=" + "x" * 201,
                                 "/api/suggest?q=a&limit=0", "/api/suggest?q=a&limit=x",
                                 "/api/search?q=a&rows=-1", "/api/search?q=a&type=thing",
                                 "/api/terms", "/api/ontologies/hodo/terms?page=-1"])
def test_bad_input(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.content_type == "application/json; charset=utf-8"
    assert response.get_json()["message"]


def test_suggest(client: FlaskClient) -> None:
    data = client.get("/api/suggest?q=PBC&lang=zh").get_json()
    first = data["results"][0]
    assert first["iri"] == PBC and first["label"] == "原发性胆汁性胆管炎"
    assert first["matched"] == "PBC" and first["url"].startswith("/term?")


def test_page(client: FlaskClient) -> None:
    body = client.get("/search?q=胆汁&lang=zh").get_data(as_text=True)
    assert "原发性胆汁性胆管炎" in body and 'lang="zh-Hans"' in body
    help_page = client.get("/search?lang=en").get_data(as_text=True)
    assert "PBC" in help_page
    hostile = client.get("/search?q=<script>x</script>").get_data(as_text=True)
    assert "<script>x" not in hostile


def test_page_links_and_pagination(client: FlaskClient) -> None:
    body = client.get("/search?q=o&lang=en&page=2").get_data(as_text=True)
    assert 'href="/search?q=o&amp;lang=en&amp;page=1"' in body
    assert 'href="/search?q=o&amp;lang=en&amp;page=3"' in body
    assert 'href="/HODO_' in client.get("/search?q=HO").get_data(as_text=True)
    filtered = client.get("/search?q=o&lang=zh&type=class").get_data(as_text=True)
    assert 'href="/search?q=o&amp;lang=zh&amp;page=2&amp;type=class"' in filtered


def test_searchbox_on_every_page(client: FlaskClient) -> None:
    body = client.get("/?lang=zh").get_data(as_text=True)
    assert 'action="/search"' in body and "/static/search.js" in body
    assert " style=" not in body and "<script>" not in body


@pytest.mark.browser
@pytest.mark.server
def test_autocomplete_in_a_browser(browser: Browser, site: str, sink: Sink) -> None:
    """Typing in the header box lists suggestions; the arrow keys and Enter open the term;
    no console error or CSP violation, nothing fetched off the machine."""
    tab = open_tab(browser, sink, site + "/?lang=zh")
    try:
        page = tab.page
        failed: list[str] = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.locator("#searchbox-q").press_sequentially("胆汁", delay=50)
        options = page.locator("#searchbox-list li[role=option]")
        expect(options.first).to_be_visible(timeout=10_000)
        texts = options.all_text_contents()
        target = next(i for i, text in enumerate(texts) if "原发性胆汁性胆管炎" in text)
        for _ in range(target + 1):
            page.keyboard.press("ArrowDown")
        expect(options.nth(target)).to_have_attribute("aria-selected", "true")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert urllib.parse.unquote(page.url).endswith(f"/term?iri={PBC}&lang=zh")
        page.go_back()
        page.locator("#searchbox-q").fill("<b>PBC</b>")
        page.locator("#searchbox-q").press("Enter")
        page.wait_for_url("**/search?**")
        expect(page.locator(".search-count")).to_be_visible()
        assert failed == []
        assert tab.problems == []
        tab.stayed_local(sink)
    finally:
        tab.page.context.close()


@pytest.mark.parametrize(("query", "iri"), [
    ("bone density", "https://w3id.org/hodo/HODO_0000004"),  # bone mineral density
    ("osteoporotic fractures", "https://w3id.org/hodo/HODO_0000012"),  # words, plurals
    ("fractures", "http://purl.obolibrary.org/obo/MONDO_0005315"),  # bone fracture
    ("density bone mineral", "https://w3id.org/hodo/HODO_0000004"),  # any order
    ("osteoporsis", "http://purl.obolibrary.org/obo/MONDO_0005298"),  # a misspelling
    ("vitamin d deficiencies", "http://purl.obolibrary.org/obo/MONDO_0100471"),
])
def test_words_in_any_order_plurals_and_misspellings_find_the_term(
        index: SearchIndex, query: str, iri: str) -> None:
    _, hits = index.search(query, limit=3, kinds=["class"])
    assert iri in [hit.term.iri for hit in hits], [hit.term.iri for hit in hits]


@pytest.mark.parametrize(("query", "words"), [
    ("liver osteoporosis", ("liver", "osteoporosis")),
    ("肝病骨质疏松", ("肝病", "骨质疏松")),
])
def test_every_word_of_the_query_is_in_what_it_finds(index: SearchIndex, query: str,
                                                     words: tuple[str, ...]) -> None:
    total, hits = index.search(query, limit=50)
    assert total > 0
    for hit in hits:
        assert all(word in hit.name.norm for word in words), hit.name.text


def test_a_close_spelling_is_tried_only_when_nothing_is_written_so(index: SearchIndex) -> None:
    _, hits = index.search("bone", limit=500)
    assert hits and all(hit.rank != CLOSE for hit in hits)
    _, hits = index.search("osteoporsis", limit=500)
    assert hits and all(hit.rank == CLOSE for hit in hits)
    assert index.search("qqqqzzzz")[0] == 0
