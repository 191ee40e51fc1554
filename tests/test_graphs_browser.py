"""The mechanism map and a term's neighbourhood in headless Chromium, served by ``hodo serve``.

Same browser, recording proxy and loopback check as the query page's test; every step leaves a
screenshot in ``tests/artifacts/`` (git-ignored) to look at.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Sink, Tab, browser, open_tab, playwright, sink, site

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

ARTIFACTS = Path(__file__).parent / "artifacts"
HO = "https://w3id.org/hodo/HODO_0000001"
OSTEOPOROSIS = "http://purl.obolibrary.org/obo/MONDO_0005298"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _drawn(page: Page, selector: str = ".hodo-graph") -> int:
    """Waits for the script to finish drawing and returns how many nodes it drew."""
    graph = page.locator(f"{selector}.graph-ready")
    expect(graph).to_have_count(1, timeout=20_000)
    expect(page.locator(f"{selector} canvas").first).to_be_attached()
    return int(graph.get_attribute("data-nodes") or 0)


def _clean(tab: Tab, sink: Sink) -> None:
    assert tab.problems == []
    tab.stayed_local(sink)


def _tap(page: Page, selector: str) -> None:
    """Taps the first element of the drawn graph that matches a cytoscape selector.

    The tap is dispatched after the evaluation has returned: a tap on a node navigates, and a
    navigation that starts while Playwright still waits for the evaluation's reply races the
    page's unload (seen as a crashed target under load)."""
    page.evaluate("s => { const element = window.hodoGraph.elements(s)[0];"
                  " if (!element) { throw new Error('nothing matches ' + s); }"
                  " setTimeout(() => element.emit('tap'), 0); }", selector)


def test_map_draws_layers_and_lists_findings_of_a_line(browser: Browser, site: str,
                                                       sink: Sink) -> None:
    tab = open_tab(browser, sink, site + "/map")
    try:
        page = tab.page
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.reload()
        nodes = _drawn(page)
        assert nodes == page.evaluate("window.hodoGraph.nodes().length") > 20
        layers = page.evaluate(
            "['liver_disease', 'mechanism', 'bone_outcome'].map(l => "
            "window.hodoGraph.nodes('[layer = \"' + l + '\"]').length)")
        assert all(n > 0 for n in layers), layers
        xs = page.evaluate(
            "['liver_disease', 'bone_outcome'].map(l => window.hodoGraph.nodes("
            "'[layer = \"' + l + '\"]').map(n => n.position('x')))")
        assert max(xs[0]) < min(xs[1])  # liver diseases left of every bone outcome
        expect(page.locator("#map-paths")).not_to_have_attribute("open", "")
        _shot(page, "map-en")
        _tap(page, "edge[?negated]")
        items = page.locator("#map-findings li.finding.negated")
        expect(items.first).to_be_visible()
        expect(items.first.locator("strong.not")).to_have_text("not ")
        _shot(page, "map-en-negated-line")
        href = items.first.locator("a").get_attribute("href")
        assert href and re.fullmatch(r"/finding-\d{4}\?lang=en", href)
        _clean(tab, sink)
    finally:
        tab.page.context.close()


#: What the map's caption promises a click on a term does: open the term's page, HODO's own or
#: the /term page of a reused term, in the page's language.
_REUSED = "/term?iri=" + OSTEOPOROSIS
CLICKS = [("en", HO, "/HODO_0000001?lang=en"), ("zh", HO, "/HODO_0000001?lang=zh"),
          ("en", OSTEOPOROSIS, _REUSED + "&lang=en"), ("zh", OSTEOPOROSIS, _REUSED + "&lang=zh")]


@pytest.mark.parametrize(("lang", "term", "path"), CLICKS,
                         ids=[f"{lang}-{term.rsplit('/', 1)[1]}" for lang, term, _ in CLICKS])
def test_map_node_opens_the_page_its_caption_says(browser: Browser, site: str, sink: Sink,
                                                  lang: str, term: str, path: str) -> None:
    tab = open_tab(browser, sink, f"{site}/map?lang={lang}")
    try:
        page = tab.page
        _drawn(page)
        caption = page.locator("#map-help").inner_text()
        assert ("open its page" if lang == "en" else "打开其页面") in caption
        label = page.evaluate(f"window.hodoGraph.getElementById('{term}').data('label')")
        with page.expect_navigation():
            _tap(page, f'node[id = "{term}"]')
        assert page.url == site + path
        expect(page.locator("h1")).to_contain_text(label)
        _clean(tab, sink)
    finally:
        tab.page.context.close()


#: The smallest label, in CSS pixels, the map may open with.
LEGIBLE_PX = 11
#: Every node the view shows (its centre within the visible part of the canvas), with the size
#: its label is drawn at on screen: cytoscape's font size times the zoom.
_VISIBLE_LABELS = """() => { const cy = window.hodoGraph; const e = cy.extent();
  return cy.nodes().filter(n => { const p = n.position();
    return p.x >= e.x1 && p.x <= e.x2 && p.y >= e.y1 && p.y <= e.y2; })
  .map(n => [n.data('label'), parseFloat(n.style('font-size')) * cy.zoom()]); }"""


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_map_opens_with_legible_labels(browser: Browser, site: str, sink: Sink, width: int,
                                       lang: str) -> None:
    tab = open_tab(browser, sink, f"{site}/map?lang={lang}")
    try:
        page = tab.page
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.reload()
        nodes = _drawn(page)
        shown = page.evaluate(_VISIBLE_LABELS)
        assert 3 <= len(shown) < nodes, shown  # a readable part, not the whole hairball
        assert min(size for _, size in shown) >= LEGIBLE_PX, shown
        _shot(page, f"map-open-{lang}-{width}")
        tools = page.locator(".graph-tools")
        expect(tools).to_be_visible()
        tools.locator('button[data-zoom="whole"]').click()
        assert len(page.evaluate(_VISIBLE_LABELS)) == nodes
        tools.locator('button[data-zoom="start"]').click()
        assert page.evaluate(_VISIBLE_LABELS) == shown
        tools.locator('button[data-zoom="in"]').click()
        assert min(size for _, size in page.evaluate(_VISIBLE_LABELS)) > LEGIBLE_PX
        _clean(tab, sink)
    finally:
        tab.page.context.close()


def test_map_in_chinese_draws_chinese_labels(browser: Browser, site: str, sink: Sink) -> None:
    tab = open_tab(browser, sink, site + "/map?lang=zh")
    try:
        page = tab.page
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.reload()
        _drawn(page)
        labels = page.evaluate("window.hodoGraph.nodes().map(n => n.data('label'))")
        assert sum(bool(HAN.search(label)) for label in labels) > len(labels) * 0.8
        assert page.evaluate(
            f"window.hodoGraph.getElementById('{OSTEOPOROSIS}').data('label')") == "骨质疏松症"
        _tap(page, "edge[?negated]")
        expect(page.locator("#map-findings strong.not").first).to_have_text("否 ")
        _shot(page, "map-zh")
        _clean(tab, sink)
    finally:
        tab.page.context.close()


def test_neighbourhood_page_draws_the_term_and_goes_to_a_neighbour(
        browser: Browser, site: str, sink: Sink) -> None:
    url = f"{site}/graph?iri={urllib.parse.quote(HO, safe='')}"
    tab = open_tab(browser, sink, url)
    try:
        page = tab.page
        assert _drawn(page) > 3
        centre = page.evaluate("window.hodoGraph.nodes('[?centre]').map(n => n.id())")
        assert centre == [HO]
        kinds = set(page.evaluate("window.hodoGraph.edges().map(e => e.data('kind'))"))
        assert {"subclass", "finding", "restriction"} <= kinds
        _shot(page, "neighbourhood-en")
        _tap(page, 'edge[kind = "finding"]')
        expect(page.locator("#graph-findings-list li.finding").first).to_be_visible()
        _shot(page, "neighbourhood-en-finding")
        with page.expect_navigation():
            _tap(page, f'node[id = "{OSTEOPOROSIS}"]')
        assert page.url.startswith(site + "/graph?iri=")
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["iri"] == [
            OSTEOPOROSIS]
        _drawn(page)
        _shot(page, "neighbourhood-osteoporosis")
        _clean(tab, sink)
    finally:
        tab.page.context.close()


def test_neighbourhood_in_chinese(browser: Browser, site: str, sink: Sink) -> None:
    tab = open_tab(browser, sink, f"{site}/graph?iri={urllib.parse.quote(HO, safe='')}&lang=zh")
    try:
        page = tab.page
        _drawn(page)
        label = page.evaluate(f"window.hodoGraph.getElementById('{HO}').data('label')")
        assert label == "肝性骨病"
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        _shot(page, "neighbourhood-zh")
        _clean(tab, sink)
    finally:
        tab.page.context.close()


def test_map_without_javascript_lists_the_paths(browser: Browser, site: str,
                                                sink: Sink) -> None:
    tab = open_tab(browser, sink, site + "/map", javascript=False)
    try:
        page = tab.page
        expect(page.locator("#map-paths")).to_have_attribute("open", "")
        rows = page.locator("#map-paths tbody tr")
        assert rows.count() > 20
        expect(page.locator("#map-paths tr.negated").first).to_be_visible()
        _shot(page, "map-no-javascript")
        tab.stayed_local(sink)
    finally:
        tab.page.context.close()
