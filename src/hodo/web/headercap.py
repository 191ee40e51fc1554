"""One cap on a request's whole header block, whatever HTTP server runs the app.

Granian caps no total (over HTTP/1.1 it takes header blocks of hundreds of KiB; over HTTP/2,
16 MiB), and gunicorn caps each field and their number (8190 bytes, 100 fields), not their
sum: a request can make every web worker hold and parse far more than any client needs.
This WSGI layer, outermost, refuses such a request with 431 before anything else reads it
(before the proxy headers, the response cache, the SPARQL lane and Flask). The size is counted
from what the server hands over: each ``HTTP_*`` variable (and ``CONTENT_TYPE`` and
``CONTENT_LENGTH``) as its field name, its value and the four bytes of ``": "`` and CRLF, so
fields a server merged into one count about as they were sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: The largest header block accepted, in bytes (the request line is capped apart: 414).
MAX_HEADER_BYTES = 64 * 2**10
_BODY_FIELDS = ("CONTENT_TYPE", "CONTENT_LENGTH")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def header_bytes(environ: dict[str, Any]) -> int:
    """The size of the request's header fields as the server handed them over."""
    total = 0
    for key, value in environ.items():
        if key.startswith("HTTP_") or key in _BODY_FIELDS:
            name = key[5:] if key.startswith("HTTP_") else key
            total += len(name) + len(str(value)) + 4
    return total


class HeaderCap:
    """Answer 431, on one line, a request whose header block is over ``limit`` bytes."""

    def __init__(self, inner: WSGIApp, headers: Callable[[], list[tuple[str, str]]],
                 limit: int = MAX_HEADER_BYTES) -> None:
        self.inner = inner
        self.limit = limit
        #: the security headers every answer carries (read when a request is refused)
        self.headers = headers

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        size = header_bytes(environ)
        if size <= self.limit:
            return self.inner(environ, start_response)
        body = (f"the request's header fields take {size} bytes, over this server's limit of "
                f"{self.limit}; send fewer or shorter ones\n").encode("ascii")
        start_response("431 Request Header Fields Too Large", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Connection", "close"), *self.headers()])
        return [body]
