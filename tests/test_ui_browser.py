"""The query page in headless Chromium, served by ``hodo serve``, with no request leaving the host.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright's Python package; Playwright's own browser download is never used. A missing browser
fails these tests. The pages go direct to loopback addresses only: every other request of theirs
is sent to a proxy that the test runs, which records it and answers 403, so that any request
that tried to leave the machine is seen (``tests/support/browser.py``).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from playwright.sync_api import Error as BrowserError

from hodo.core.paths import EXAMPLES_DIR
from tests.support.browser import (
    Sink,
    Tab,
    browser,
    new_context,
    open_tab,
    playwright,
    sink,
    site,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

__all__ = ["browser", "playwright", "sink", "site"]  # fixtures, imported to be used here

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.rq"))


@pytest.fixture(scope="module")
def ui(browser: Browser, sink: Sink, site: str) -> Iterator[Tab]:
    tab = open_tab(browser, sink, site + "/sparql")
    try:
        yield tab
    finally:
        tab.page.context.close()


def _rows(site: str, query: str) -> list[dict]:
    """What the endpoint itself answers, for comparison."""
    request = urllib.request.Request(
        site + "/sparql", data=urllib.parse.urlencode({"query": query}).encode(),
        headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["results"]["bindings"]  # type: ignore[no-any-return]


def test_proxy_sees_a_request_for_a_remote_host(browser: Browser, sink: Sink) -> None:
    """The proxy does catch a request for a remote host, so an empty proxy log means something."""
    context = new_context(browser, sink)
    try:
        with pytest.raises(BrowserError, match="ERR_HTTP_RESPONSE_CODE_FAILURE"):
            context.new_page().goto("http://hodo-test.invalid/probe")
    finally:
        context.close()
    assert sink.seen == ["GET http://hodo-test.invalid/probe HTTP/1.1"]
    sink.seen.clear()


def test_editor_opens_with_every_example_as_a_tab(ui: Tab, sink: Sink) -> None:
    page = ui.page
    expect(page.locator("body.yasgui-ready")).to_have_count(1)
    expect(page.locator("#plain-form")).to_be_hidden()
    ids = page.eval_on_selector_all(".yasgui .tabsList a[role=tab]",
                                    "links => links.map(a => a.id)")
    assert ids == [f"tab-example-{p.stem}" for p in EXAMPLES]
    endpoint = page.locator(".tabPanel.active .endpointText input, .tabPanel.active input")
    assert endpoint.first.input_value().endswith("/sparql")
    assert ui.problems == []
    ui.stayed_local(sink)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_the_editor(ui: Tab, site: str, sink: Sink, path: Path) -> None:
    page, panel_id = ui.page, f"example-{path.stem}"
    page.click(f"#tab-{panel_id}")
    panel = page.locator(f"div.tabPanel#{panel_id}")
    expect(panel).to_be_visible()
    before = len(ui.requests)
    panel.locator(".yasqe_queryButton").click()
    chip = panel.locator(".yasr_response_chip")
    expect(chip).to_have_text(re.compile(r"^\d+ results? in "), timeout=20_000)
    shown = int(chip.inner_text().split()[0])
    assert shown == len(_rows(site, path.read_text(encoding="utf-8"))) > 0
    expect(panel.locator(".yasr table.dataTable tbody tr").first).to_be_visible()
    assert site + "/sparql" in ui.requests[before:]
    assert ui.problems == []
    ui.stayed_local(sink)


def test_typing_a_hodo_prefix_declares_it(ui: Tab, sink: Sink) -> None:
    page = ui.page
    page.click("#tab-example-negative-findings")
    panel = page.locator("div.tabPanel#example-negative-findings")
    yasqe = "window.hodoYasgui.getTab().getYasqe()"
    page.evaluate(f"{yasqe}.setValue('SELECT * WHERE {{ ?s a ')")
    page.evaluate(f"{yasqe}.setCursor({yasqe}.lineCount(), 0)")
    panel.locator(".CodeMirror textarea").press_sequentially("hodo:")
    expect(panel.locator(".CodeMirror-code")).to_contain_text(
        "PREFIX hodo: <https://w3id.org/hodo/>")
    assert ui.problems == []
    ui.stayed_local(sink)


def test_results_show_chinese(ui: Tab, site: str, sink: Sink) -> None:
    path = EXAMPLES_DIR / "chinese-labels.rq"
    first = _rows(site, path.read_text(encoding="utf-8"))[0]["zh"]["value"]
    page = ui.page
    page.click("#tab-example-chinese-labels")
    panel = page.locator("div.tabPanel#example-chinese-labels")
    panel.locator(".yasqe_queryButton").click()
    cell = panel.locator(".yasr table.dataTable tbody tr").first.locator("td").nth(2)
    expect(cell).to_have_text(f'"{first}"@zh')
    ui.stayed_local(sink)


def test_hodo_iri_in_results_opens_its_local_page(ui: Tab, site: str, sink: Sink) -> None:
    page = ui.page
    page.click("#tab-example-chinese-labels")
    panel = page.locator("div.tabPanel#example-chinese-labels")
    panel.locator(".yasqe_queryButton").click()
    link = panel.locator('.yasr table.dataTable a.iri[href^="https://w3id.org/hodo/"]').first
    iri = link.get_attribute("href")
    assert iri
    with page.context.expect_page() as opened:
        link.click()
    target = opened.value
    target.wait_for_load_state()
    assert target.url == f"{site}/{iri.removeprefix('https://w3id.org/hodo/')}?lang=en"
    assert iri in target.content()
    target.close()
    assert ui.problems == []
    ui.stayed_local(sink)


def test_page_in_chinese_names_tabs_in_chinese(browser: Browser, site: str, sink: Sink) -> None:
    tab = open_tab(browser, sink, site + "/sparql?lang=zh")
    try:
        names = tab.page.eval_on_selector_all(".yasgui .tabsList a[role=tab] span",
                                              "spans => spans.map(s => s.textContent)")
        assert names and all(re.search(r"[\u4e00-\u9fff]", n) for n in names if n.strip())
        assert tab.problems == []
        tab.stayed_local(sink)
    finally:
        tab.page.context.close()


def test_plain_form_works_without_javascript(browser: Browser, site: str, sink: Sink) -> None:
    tab = open_tab(browser, sink, site + "/sparql", javascript=False)
    try:
        page = tab.page
        form = page.locator("form#plain-chinese-labels")
        expect(form).to_be_visible()
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        body = json.loads(page.locator("body").inner_text())
        labels = {b["zh"]["value"] for b in body["results"]["bindings"]}
        assert "肝性骨病" in labels
        tab.stayed_local(sink)
    finally:
        tab.page.context.close()
