"""Every kind of page, in English and in Chinese, checked by axe-core in headless Chromium; and
the Chinese pages show no English words of HODO's own or of the query page's editor.

axe-core comes from the npm registry (``package.json``'s development dependencies, installed by
``make ui``) and is run inside the page by Playwright, which is not held back by the page's
Content Security Policy. No rule is turned off and nothing is left out of the check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from hodo.core import paths
from hodo.core.i18n import MESSAGES
from hodo.web import ui  # (with the whole app: every part has put its words in the table)
from tests.support.browser import Sink, browser, new_context, playwright, sink
from tests.support.server import serving
from tests.test_phone_browser import PAGES as PHONE_PAGES

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

AXE = ui.node_modules({}) / "axe-core" / "axe.min.js"
#: The phone test's pages, and the kinds of page it leaves out: a section and a sentence of the
#: article, a term's graph, and a page that does not exist (answered 404).
PAGES = [*PHONE_PAGES, "/article-section-1", "/article-sentence-1-02",
         "/graph?iri=https%3A%2F%2Fw3id.org%2Fhodo%2FHODO_0000001", "/no-such-page",
         "/validate?report"]
STATUS = {"/no-such-page": 404}
#: Data for a validation report: a QC rule finds a deprecated term with no replacement and says
#: so with a value of "(none)".
REPORTED = paths.ROOT / "tests" / "data" / "qc" / "deprecated-without-replacement.ttl"
LANGS = ["en", "zh"]


def _url(site: str, path: str, lang: str) -> str:
    return f"{site}{path}{'&' if '?' in path else '?'}lang={lang}"


@pytest.fixture(scope="module")
def site(release_dir: Path) -> Iterator[str]:
    """``hodo serve``, with time for a validation on a busy machine (it runs at the lowest
    priority)."""
    with serving(release_dir, validate_timeout="150") as server:
        yield server.url


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: make ui")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture()
def page(browser: Browser, sink: Sink) -> Iterator[Page]:
    context = new_context(browser, sink)
    try:
        yield context.new_page()
    finally:
        context.close()


def _open(page: Page, site: str, path: str, lang: str) -> None:
    """The page, loaded and drawn: its scripts done, the query page's editor up."""
    response = page.goto(_url(site, path, lang))
    assert response is not None and response.status == STATUS.get(path, 200)
    page.wait_for_load_state("networkidle")
    if path == "/sparql":
        expect(page.locator("body.yasgui-ready")).to_have_count(1)
    if path == "/validate?report":  # the page with a report on it
        page.fill("#data", REPORTED.read_text(encoding="utf-8"))
        page.uncheck("input[name=reason]")
        with page.expect_navigation(timeout=180_000):
            page.click("main form button[type=submit]")
        expect(page.locator(".report")).to_have_count(1)


def _run_query(page: Page) -> None:
    """Run the open tab's query and wait for its table of results."""
    page.locator(".tabPanel.active .yasqe_queryButton").click()
    expect(page.locator(".tabPanel.active .yasr table.dataTable tbody tr").first).to_be_visible(
        timeout=20_000)


def _open_settings(page: Page) -> None:
    page.locator(".tabPanel.active .tabContextButton").click()
    expect(page.locator(".tabPanel.active .tabMenu")).to_be_visible()


def _violations(page: Page, axe_source: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line per element."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => ({id: v.id,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))")
    return [f"{v['id']} at {node}" for v in found for node in v["nodes"]]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_accessibility_violation(page: Page, site: str, axe_source: str,
                                             path: str, lang: str) -> None:
    _open(page, site, path, lang)
    assert _violations(page, axe_source) == []
    if path == "/sparql":  # the results table, its controls and pages, once a query has run;
        _run_query(page)  # then the tab's settings
        assert _violations(page, axe_source) == []
        _open_settings(page)
        assert _violations(page, axe_source) == []


#: What YASGUI, Yasr and their table write in English when a query has run and the settings of
#: the tab are open, read off the page; none of it may be left on the Chinese page.
EDITOR_ENGLISH = ["Close tab", "Add tab", "Add a new tab", "Open settings", "Settings",
                  "Request method", "Accept Headers", "Arguments", "Default Graphs",
                  "Named Graphs", "Clear endpoint", "Share query", "Run query", "Table",
                  "Response", "Simple view", "Ellipse", "Filter query results", "Page size",
                  "Download result", "View documentation", "results in", "seconds", "Showing",
                  "entries", "filtered", "Activate to sort", "First", "Previous", "Next", "Last",
                  "All", "pagination"]
#: Names that stay as they are in Chinese: HTTP methods, formats, the endpoint's address.
EDITOR_KEPT = re.compile(r"^(GET|POST|JSON|XML|CSV|TSV|Turtle|RDF/XML|TriG|N-Triples|N-Quads|"
                         r"http://\S+|\d+|[<>+✖x]+)$")

#: Every text of the editor's own that can be seen or heard: text, tooltips, labels.
EDITOR_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.getElementById('yasgui'),
                                           NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode;
    const el = n.nodeType === Node.TEXT_NODE ? n.parentElement : n;
    if (el.closest('.CodeMirror-code, .dataTable tbody, .dt-column-title, svg')) continue;
    if (n.nodeType === Node.TEXT_NODE) {
      const text = n.nodeValue.replace(/\\u200b/g, '').trim();
      if (el.checkVisibility() && text) out.push(text);
    } else {
      for (const a of ['title', 'aria-label', 'placeholder']) {
        if (n.getAttribute(a)) out.push(n.getAttribute(a));
      }
    }
  }
  return out;
}"""


def test_query_editor_speaks_chinese_on_a_chinese_page(page: Page, site: str) -> None:
    _open(page, site, "/sparql", "zh")
    _run_query(page)
    page.locator(".tabPanel.active .tableFilter").press_sequentially("osteo")
    expect(page.locator(".tabPanel.active .dt-info")).to_contain_text("筛选")
    _open_settings(page)
    texts = page.evaluate(EDITOR_TEXTS)
    assert "执行查询" in texts  # the editor's own words were read, and are Chinese
    english = sorted({t for t in texts for word in EDITOR_ENGLISH
                      if re.search(rf"\b{re.escape(word)}\b", t)})
    assert english == []
    latin = sorted({t for t in texts if not re.search(r"[\u4e00-\u9fff]", t)
                    and not EDITOR_KEPT.match(t)})
    assert latin == []


def _words(text: str) -> set[str]:
    """The words of ``text``, in lower case, leaving out names in capitals (GET, HODO, OWL)."""
    return {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text) if not w.isupper()}


def _english_words() -> set[str]:
    """The words of HODO's English page words that its Chinese ones never use (so not
    "SPARQL" or "OWL", which stay as they are on a Chinese page)."""
    english = set().union(*(_words(e["en"]) for e in MESSAGES.values()))
    chinese = set().union(*(_words(t) for e in MESSAGES.values() for k, t in e.items()
                            if k != "en"))
    return english - chinese


def _in_english(text: str, vocabulary: set[str]) -> bool:
    """Text in plain ASCII made only of HODO's English words."""
    found = _words(text)
    return bool(re.fullmatch(r"[\x20-\x7e]+", text)) and bool(found) and found <= vocabulary


#: Visible texts and labels of a page that are in no other language than the page's: not inside
#: an element that says it is in English (a label with no Chinese, the other language's link),
#: nor a query (its editor, or a block of code), nor the results of one.
PAGE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body,
                                           NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode;
    const el = n.nodeType === Node.TEXT_NODE ? n.parentElement : n;
    const own = el.closest('[lang]');
    if (own && !own.lang.startsWith('zh')) continue;
    if (el.closest('pre, textarea, script, style, .CodeMirror, svg, .dataTable tbody,'
                   + ' .dt-column-title')) continue;
    if (n.nodeType === Node.TEXT_NODE) {
      const text = n.nodeValue.replace(/\\u200b/g, '').trim();
      if (el.checkVisibility() && text) out.push(text);
    } else {
      for (const a of ['title', 'aria-label', 'placeholder', 'alt']) {
        if (n.getAttribute(a)) out.push(n.getAttribute(a));
      }
    }
  }
  return out;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_chinese_page_shows_no_english_page_words(page: Page, site: str, path: str) -> None:
    _open(page, site, path, "zh")
    if path == "/sparql":
        _run_query(page)
    vocabulary = _english_words()
    english = sorted({t for t in page.evaluate(PAGE_TEXTS) if _in_english(t, vocabulary)})
    assert english == []


def test_the_english_check_catches_an_english_word(page: Page, site: str) -> None:
    """The check above does find HODO's English words: the English page is full of them."""
    _open(page, site, "/", "en")
    vocabulary = _english_words()
    texts = page.evaluate(PAGE_TEXTS.replace("!own.lang.startsWith('zh')", "false"))
    assert "Downloads" in texts and _in_english("Downloads", vocabulary)


def test_axe_is_the_locked_version() -> None:
    """The axe-core that runs is the one package-lock.json pins."""
    lock = json.loads((paths.ROOT / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/axe-core"]["version"]
    assert f"axe v{version}" in AXE.read_text(encoding="utf-8")[:200]
