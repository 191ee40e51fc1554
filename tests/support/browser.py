"""Headless Chromium for the tests, with no request leaving the host.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright's Python package; Playwright's own browser download is never used. A missing browser
fails the tests that use it. The pages go direct to loopback addresses only: every other request
of theirs is sent to a proxy that the tests run (``sink``), which records it and answers 403, so
that any request that tried to leave the machine is seen. Chromium's own services (component
updates, sign-in, network time) ignore the flags that should silence them; they go to a second
such proxy, are kept on the machine too, and are not the page's doing, so they are not asserted
on.

A test module takes the fixtures by importing them: ``from tests.support.browser import
browser, playwright, sink, site``.
"""

from __future__ import annotations

import shutil
import socketserver
import threading
import urllib.parse
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
    sync_playwright,
)

from tests.support.server import serving

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
    """``hodo serve`` for the browser to read; its base URL."""
    with serving(release_dir) as server:
        yield server.url


def new_context(browser: Browser, sink: Sink, *, javascript: bool = True) -> BrowserContext:
    """A fresh profile whose requests for anything but loopback go to ``sink``."""
    return browser.new_context(java_script_enabled=javascript, locale="en-GB",
                               proxy={"server": sink.url, "bypass": ",".join(LOOPBACK)})


def open_tab(browser: Browser, sink: Sink, url: str, *, javascript: bool = True) -> Tab:
    context = new_context(browser, sink, javascript=javascript)
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
