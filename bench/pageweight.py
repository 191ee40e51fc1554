"""Page weight: the bytes a reader's browser moves to show each kind of HODO page.

For each page (home, a term page, the /sparql query page, the mechanism map, a search), a real
browser (Debian's Chromium under Playwright) opens it once, to learn every request the page
makes: the HTML, its scripts, style sheets and fonts, and what its scripts fetch (the map's
JSON). Each of those requests is then sent again on a plain socket, as the browser sent it,
once with ``Accept-Encoding: gzip`` and once with ``identity``, and the answer's bytes are
counted as they cross the wire (status line, headers and body, over HTTP/1.1 on loopback, no
TLS).

- **First visit**: every request, nothing cached.
- **Repeat visit**, once the HTML's ``max-age`` has run out: an answer marked ``immutable``
  (the assets, whose URLs carry their digest) comes from the browser's cache, 0 bytes; every
  other is asked again with ``If-None-Match`` (or ``If-Modified-Since``) and costs what that
  answer costs (a 304's headers while nothing changed).
"""

from __future__ import annotations

import shutil
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers

#: The pages weighed: a name and the path a reader opens (in English, as the browser asks).
PAGES = (("home", "/"), ("term", "/HODO_0000001"), ("sparql", "/sparql"),
         ("map", "/map"), ("search", "/search?q=osteoporosis"))
ENCODINGS = ("gzip", "identity")
#: What a response is, from its media type, for the breakdown.
KINDS = (("text/html", "html"), ("javascript", "script"), ("text/css", "css"),
         ("font/", "font"), ("woff", "font"), ("json", "json"), ("image/", "image"))
#: Headers of the browser's request that change the answer, sent again as they were.
KEPT_HEADERS = ("accept", "accept-language")


@dataclass(frozen=True)
class Request:
    """One request the page made: its path on the server and the headers that matter."""

    path: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Wire:
    """One answer as it crossed the wire."""

    status: int
    headers: dict[str, str]
    header_bytes: int
    body_bytes: int

    @property
    def total(self) -> int:
        return self.header_bytes + self.body_bytes


def kind_of(content_type: str) -> str:
    """``html``, ``script``, ``css``, ``font``, ``json``, ``image`` or ``other``."""
    media = content_type.split(";", 1)[0].strip().lower()
    return next((kind for key, kind in KINDS if key in media), "other")


def fetch(port: int, request: Request, extra: dict[str, str], host: str = "127.0.0.1"
          ) -> Wire:
    """GET on a fresh connection closed by the server; bytes counted as received."""
    lines = [f"GET {request.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in (*request.headers, *extra.items()))]
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        raw = bytearray()
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = bytes(raw).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Wire(int(status_line.split()[1]), headers, len(head) + 4, len(body))


def weigh(port: int, requests: list[Request]) -> dict[str, Any]:
    """First and repeat visit of one page's requests, with gzip and without."""
    out: dict[str, Any] = {"requests": len(requests), "first": {}, "repeat": {},
                           "kinds": {}, "repeat_requests": 0, "repeat_statuses": {}}
    for encoding in ENCODINGS:
        first = repeat = 0
        for request in requests:
            answer = fetch(port, request, {"Accept-Encoding": encoding})
            first += answer.total
            kind = out["kinds"].setdefault(kind_of(answer.headers.get("content-type", "")),
                                           {"n": 0, **{e: 0 for e in ENCODINGS}})
            kind[encoding] += answer.total
            kind["n"] += encoding == ENCODINGS[0]
            again = revisit(port, request, answer, encoding)
            if again is not None:
                repeat += again.total
                if encoding == ENCODINGS[0]:
                    out["repeat_requests"] += 1
                    status = str(again.status)
                    out["repeat_statuses"][status] = out["repeat_statuses"].get(status, 0) + 1
        out["first"][encoding], out["repeat"][encoding] = first, repeat
    return out


def revisit(port: int, request: Request, first: Wire, encoding: str) -> Wire | None:
    """The repeat visit's answer to ``request``: None when the browser's cache has it for
    good (``immutable``), else the conditional request's answer."""
    if "immutable" in first.headers.get("cache-control", ""):
        return None
    extra = {"Accept-Encoding": encoding}
    if "etag" in first.headers:
        extra["If-None-Match"] = first.headers["etag"]
    elif "last-modified" in first.headers:
        extra["If-Modified-Since"] = first.headers["last-modified"]
    return fetch(port, request, extra)


def discover(base: str, path: str, chromium: str) -> list[Request]:
    """Every request to ``base`` a first visit of ``path`` makes, in the order made."""
    from playwright.sync_api import sync_playwright

    found: list[Request] = []
    origin = urllib.parse.urlsplit(base).netloc
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(locale="en-GB")

            def record(request: Any) -> None:
                url = urllib.parse.urlsplit(request.url)
                if url.netloc == origin and request.method == "GET":
                    headers = request.all_headers()
                    found.append(Request(url.path + (f"?{url.query}" if url.query else ""),
                                         tuple((k, headers[k]) for k in KEPT_HEADERS
                                               if k in headers)))

            page.on("request", record)
            page.goto(base + path, wait_until="networkidle")
        finally:
            browser.close()
    return list(dict.fromkeys(found))


def measure_pages(dist: Path, logs: Path) -> dict[str, Any]:
    """``hodo serve`` on the release; every page of ``PAGES`` discovered and weighed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: Chromium is not installed (apt-get install chromium)")
    server = servers.start_hodo(dist, 1, logs / "pages.log")
    try:
        base = f"http://127.0.0.1:{server.target.port}"
        pages = []
        for name, path in PAGES:
            requests = discover(base, path, chromium)
            pages.append({"name": name, "path": path, **weigh(server.target.port, requests)})
    finally:
        server.stop()
    return {"pages": pages}
