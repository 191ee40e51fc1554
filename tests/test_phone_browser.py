"""Every kind of page at a phone's width (390 CSS pixels) in headless Chromium: nothing is cut
off or pushes the page sideways, and every link of the header can be seen and reached."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.support.browser import Sink, browser, open_tab, playwright, sink, site

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/HODO_0000001", "/finding-0101", "/article", "/article-reference-1",
         "/ontology", "/downloads", "/search?q=PBC", "/validate",
         "/term?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FMONDO_0005298", "/map", "/sparql"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", PAGES)
def test_a_page_fits_a_phone(browser: Browser, site: str, sink: Sink, path: str,
                             lang: str) -> None:
    joiner = "&" if "?" in path else "?"
    tab = open_tab(browser, sink, f"{site}{path}{joiner}lang={lang}")
    try:
        page = tab.page
        page.set_viewport_size(PHONE)
        page.reload()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
        cut = page.evaluate(
            "Array.from(document.querySelectorAll('header a')).filter(a => {"
            " const r = a.getBoundingClientRect();"
            " return r.width === 0 || r.left < 0 || r.right > window.innerWidth; })"
            ".map(a => a.textContent)")
        assert cut == [], f"header links cut off on {path}: {cut}"
    finally:
        tab.page.context.close()
