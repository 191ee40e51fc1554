"""The query page in headless Chromium, served by ``hodo serve``, with no request leaving the host.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright's Python package; Playwright's own browser download is never used. A missing browser
fails these tests. The pages go direct to loopback addresses only: every other request of theirs
is sent to a proxy that the test runs, which records it and answers 403, so that any request
that tried to leave the machine is seen. Chromium's own services (component updates, sign-in,
network time) ignore the flags that should silence them; they go to a second such proxy, are
kept on the machine too, and are not the page's doing, so they are not asserted on.
"""

from __future__ import annotations

import json
import re
import shutil
import socketserver
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as BrowserError

from hodo.core.paths import EXAMPLES_DIR
from tests.test_server import serving

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.rq"))
#: Flags for a browser on a machine with no network and no display, running as root.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage",
                  # autofill asks a Google server from inside the page's own context
                  "--disable-features=AutofillServerCommunication"]
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class _Sink(socketserver.StreamRequestHandler):
    """Records the request line of whatever the browser tried to send off the machine."""

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        self.server.seen.append(line)  # type: ignore[attr-defined]
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Sink)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


@contextmanager
def running_sink() -> Iterator[Sink]:
    """A recording proxy on a free loopback port, for as long as the block runs."""
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Tab:
    """One browser page and what it did."""

    page: Page
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def stayed_local(self, sink: Sink) -> None:
        """No request went anywhere but loopback, and the proxy saw none."""
        hosts = {urllib.parse.urlsplit(url).hostname for url in self.requests}
        assert all(url.startswith(("http://", "data:")) for url in self.requests), self.requests
        assert hosts <= {h.strip("[]") for h in LOOPBACK} | {None}, self.requests
        assert sink.seen == [], sink.seen


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: apt-get install chromium chromium-driver")
    return path


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    """Where the pages' requests for anything but loopback end up."""
    with running_sink() as server:
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    with running_sink() as own_services:
        chromium = playwright.chromium.launch(
            executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS,
            proxy={"server": own_services.url})
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def site(release_dir: Path) -> Iterator[str]:
    with serving(release_dir) as url:
        yield url


def _context(browser: Browser, sink: Sink, *, javascript: bool = True) -> BrowserContext:
    """A fresh profile whose requests for anything but loopback go to ``sink``."""
    return browser.new_context(java_script_enabled=javascript, locale="en-GB",
                               proxy={"server": sink.url, "bypass": ",".join(LOOPBACK)})


def _open(browser: Browser, sink: Sink, url: str, *, javascript: bool = True) -> Tab:
    context = _context(browser, sink, javascript=javascript)
    page = context.new_page()
    tab = Tab(page)
    context.on("request", lambda request: tab.requests.append(request.url))
    page.on("console", lambda message: _console(tab, message))
    page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    response = page.goto(url)
    assert response is not None and response.status == 200
    return tab


def _console(tab: Tab, message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        tab.problems.append(f"console {message.type}: {message.text}")


@pytest.fixture(scope="module")
def ui(browser: Browser, sink: Sink, site: str) -> Iterator[Tab]:
    tab = _open(browser, sink, site + "/sparql")
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
    context = _context(browser, sink)
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
    tab = _open(browser, sink, site + "/sparql?lang=zh")
    try:
        names = tab.page.eval_on_selector_all(".yasgui .tabsList a[role=tab] span",
                                              "spans => spans.map(s => s.textContent)")
        assert names and all(re.search(r"[\u4e00-\u9fff]", n) for n in names if n.strip())
        assert tab.problems == []
        tab.stayed_local(sink)
    finally:
        tab.page.context.close()


def test_plain_form_works_without_javascript(browser: Browser, site: str, sink: Sink) -> None:
    tab = _open(browser, sink, site + "/sparql", javascript=False)
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
