"""Every kind of page at a phone's width (390 CSS pixels) in headless Chromium: nothing is cut
off or pushes the page sideways, and the header's links fold behind a menu button that shows
every one of them; on a desktop's width they stand in the header, with no button."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Sink, browser, open_tab, playwright, sink, site

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PAGES = ["/", "/HODO_0000001", "/finding-0101", "/article", "/article-reference-1",
         "/ontology", "/downloads", "/search?q=PBC", "/validate",
         "/term?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FMONDO_0005298", "/map", "/sparql"]
MENU_NAMES = {"en": "Menu", "zh": "菜单"}

#: The header's links a reader cannot see or reach: no size, or outside the window.
CUT_LINKS = ("Array.from(document.querySelectorAll('header nav a')).filter(a => {"
             " const r = a.getBoundingClientRect();"
             " return r.width === 0 || r.left < 0 || r.right > window.innerWidth; })"
             ".map(a => a.textContent)")


def _url(site: str, path: str, lang: str) -> str:
    return f"{site}{path}{'&' if '?' in path else '?'}lang={lang}"


def _fits(page: Page, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", PAGES)
def test_a_page_fits_a_phone(browser: Browser, site: str, sink: Sink, path: str,
                             lang: str) -> None:
    tab = open_tab(browser, sink, _url(site, path, lang))
    try:
        page = tab.page
        page.set_viewport_size(PHONE)
        page.reload()
        _fits(page, path)
        links = page.locator("header nav a")
        button = page.get_by_role("button", name=MENU_NAMES[lang])
        expect(button).to_have_attribute("aria-expanded", "false")
        assert button.get_attribute("aria-controls") == page.locator("header nav").get_attribute(
            "id")
        for i in range(links.count()):
            expect(links.nth(i)).to_be_hidden()
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        assert links.count() >= 7
        for i in range(links.count()):
            expect(links.nth(i)).to_be_visible()
        assert page.evaluate(CUT_LINKS) == [], f"header links cut off on {path}"
        _fits(page, path)
        button.click()
        expect(links.first).to_be_hidden()
        assert tab.problems == []
    finally:
        tab.page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_desktop_shows_the_links_in_the_header(browser: Browser, site: str, sink: Sink,
                                                 lang: str) -> None:
    tab = open_tab(browser, sink, _url(site, "/", lang))
    try:
        page = tab.page
        page.set_viewport_size(DESKTOP)
        page.reload()
        expect(page.locator("header .menu-toggle")).to_be_hidden()
        tops = page.eval_on_selector_all("header nav a",
                                         "links => links.map(a => a.getBoundingClientRect().top)")
        assert len(tops) >= 7 and max(tops) - min(tops) < 2, "the links are not on one line"
        assert page.evaluate(CUT_LINKS) == []
    finally:
        tab.page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_javascript_a_phone_sees_every_link(browser: Browser, site: str, sink: Sink,
                                                    lang: str) -> None:
    tab = open_tab(browser, sink, _url(site, "/", lang), javascript=False)
    try:
        page = tab.page
        page.set_viewport_size(PHONE)
        page.reload()
        expect(page.locator("header .menu-toggle")).to_be_hidden()
        links = page.locator("header nav a")
        for i in range(links.count()):
            expect(links.nth(i)).to_be_visible()
        assert page.evaluate(CUT_LINKS) == []
        _fits(page, "/")
    finally:
        tab.page.context.close()
