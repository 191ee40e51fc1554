"""The page-weight measurement (``bench.pageweight``) on a tiny site whose bytes are known.

A two-file site (a page and an ``immutable`` script), served by a test server that records
every byte it writes, so the counts can be checked against what really crossed the socket.
"""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator

import pytest

from bench import pageweight, report
from bench.pageweight import Request

PAGE = b"<!doctype html><title>t</title><p>" + b"words of the page " * 200
SCRIPT = b"console.log('a script');\n" * 150
FILES = {"/": (PAGE, "text/html; charset=utf-8", "public, max-age=300", '"page"'),
         "/app.js": (SCRIPT, "application/javascript", "public, max-age=31536000, immutable",
                     '"app"')}


class _Site(http.server.BaseHTTPRequestHandler):
    """Answers as HODO does: gzip when accepted, an ETag per encoding, 304 on a match."""

    def do_GET(self) -> None:
        body, media, cache, etag = FILES[self.path]
        headers = {"Content-Type": media, "Cache-Control": cache}
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body, etag = gzip.compress(body), etag[:-1] + '-gzip"'
            headers["Content-Encoding"] = "gzip"
        headers["ETag"] = etag
        status = 304 if self.headers.get("If-None-Match") == etag else 200
        if status == 304:
            body = b""
        head = f"HTTP/1.0 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        raw = head.encode("latin-1") + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        self.server.written.append((self.path, status, len(raw)))  # type: ignore[attr-defined]
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def site() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Site)
    server.written = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_weigh_counts_the_bytes_the_server_wrote(site: http.server.HTTPServer) -> None:
    port = site.server_address[1]
    weight = pageweight.weigh(port, [Request("/", (("accept", "text/html"),)),
                                     Request("/app.js")])
    written = site.written  # type: ignore[attr-defined]
    # per encoding: the page, its revisit, the script (the script is never asked again)
    gzip_part, identity_part = written[:3], written[3:]
    assert [(p, s) for p, s, _ in gzip_part] == [("/", 200), ("/", 304), ("/app.js", 200)]
    assert weight["first"]["gzip"] == gzip_part[0][2] + gzip_part[2][2]
    assert weight["first"]["identity"] == identity_part[0][2] + identity_part[2][2]
    assert weight["repeat"] == {"gzip": gzip_part[1][2], "identity": identity_part[1][2]}
    assert weight["first"]["gzip"] < weight["first"]["identity"] - len(PAGE) // 2
    assert weight["requests"] == 2 and weight["repeat_requests"] == 1
    assert weight["repeat_statuses"] == {"304": 1}
    assert {k: v["n"] for k, v in weight["kinds"].items()} == {"html": 1, "script": 1}
    assert weight["kinds"]["script"]["identity"] > len(SCRIPT)


def test_report_renders_the_page_weight(site: http.server.HTTPServer) -> None:
    weight = pageweight.weigh(site.server_address[1], [Request("/"), Request("/app.js")])
    block = report.render({"machine": {"date": "d", "git_commit": "c", "cores": 2,
                                       "python": "3", "pyoxigraph": "0", "oxigraph": "0"},
                           "settings": {"workers": 2, "requests": 1, "clients": 1,
                                        "duration": 1.0, "rounds": 1},
                           "pages": {"pages": [{"name": "home", "path": "/", **weight}]}})
    row = next(line for line in block.splitlines() if line.startswith("| home"))
    assert f"| {weight['first']['gzip'] / 1024:,.1f} |" in row
    assert "1 × 304" in block


@pytest.mark.parametrize(("media", "kind"), [
    ("text/html; charset=utf-8", "html"), ("application/javascript", "script"),
    ("text/javascript", "script"), ("text/css", "css"), ("font/woff2", "font"),
    ("application/font-woff", "font"), ("application/json", "json"),
    ("image/svg+xml", "image"), ("application/octet-stream", "other"), ("", "other")])
def test_kind_of(media: str, kind: str) -> None:
    assert pageweight.kind_of(media) == kind
