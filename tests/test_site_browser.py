"""A reader's way through the site in headless Chromium, served by ``hodo serve``.

Open a term page, switch to Chinese, follow a link to a related term, search in Chinese and
open the hit, look at the mechanism map. Same browser, recording proxy and loopback check as
the query page's test; each step leaves a screenshot in ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Sink, browser, open_tab, playwright, sink, site

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

ARTIFACTS = Path(__file__).parent / "artifacts"
OSTEOPOROSIS = "http://purl.obolibrary.org/obo/MONDO_0005298"
PBC = "http://purl.obolibrary.org/obo/MONDO_0005388"


def _shot(page: Page, step: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"site-{step}.png"), full_page=True)


def _query(page: Page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)


def test_a_reader_goes_from_a_term_to_the_map(browser: Browser, sink: Sink, site: str) -> None:
    tab = open_tab(browser, sink, f"{site}/HODO_0000001")
    page = tab.page
    try:
        # 1. the term page, in English, with its neighbourhood drawn
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_contain_text("hepatic osteodystrophy")
        expect(page.locator(".hodo-graph.graph-ready")).to_have_count(1, timeout=20_000)
        _shot(page, "1-term-en")

        # 2. switch language: the same page, in Chinese
        page.locator("a.lang-switch").click()
        page.wait_for_load_state()
        assert urllib.parse.urlsplit(page.url).path == "/HODO_0000001"
        assert _query(page)["lang"] == ["zh"]
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        expect(page.locator("h1")).to_have_text(re.compile("肝性骨病"))
        _shot(page, "2-term-zh")

        # 3. follow the link to the parent term, a reused MONDO class: still in Chinese
        parent = page.locator(".hierarchy .parents a", has_text="骨质疏松症").first
        parent.click()
        page.wait_for_load_state()
        assert _query(page)["iri"] == [OSTEOPOROSIS]
        expect(page.locator("h1")).to_have_text(re.compile("骨质疏松症"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        _shot(page, "3-related-term-zh")

        # 4. search in Chinese from the header, open the hit
        box = page.locator("#searchbox-q")
        box.fill("胆汁")
        expect(page.locator("#searchbox-list [role=option]").first).to_be_visible()
        _shot(page, "4-suggestions-zh")
        page.locator("form.searchbox button[type=submit]").click()
        page.wait_for_load_state()
        assert urllib.parse.urlsplit(page.url).path == "/search"
        hit = page.locator(".search-results a.search-label",
                           has_text=re.compile("^原发性胆汁性胆管炎$"))
        expect(hit).to_have_count(1)
        _shot(page, "5-search-results-zh")
        hit.click()
        page.wait_for_load_state()
        assert _query(page)["iri"] == [PBC]
        expect(page.locator("h1")).to_have_text(re.compile("原发性胆汁性胆管炎"))
        _shot(page, "6-search-hit-zh")

        # 5. the mechanism map, from the navigation, drawn in Chinese
        page.locator("header nav a", has_text="机制图").click()
        page.wait_for_load_state()
        assert urllib.parse.urlsplit(page.url).path == "/map"
        drawn = page.locator(".hodo-graph.graph-ready")
        expect(drawn).to_have_count(1, timeout=20_000)
        assert int(drawn.get_attribute("data-nodes") or 0) > 10
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        _shot(page, "7-mechanism-map-zh")

        assert tab.problems == []
        tab.stayed_local(sink)
    finally:
        page.context.close()
