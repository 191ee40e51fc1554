"""gzip for clients that accept it: pages, scripts, style sheets, results and release files.

A WSGI layer outside the response cache, so every answer passes it, whichever layer made it.
An answer is compressed when the client's ``Accept-Encoding`` accepts gzip, its media type is
text (HTML, JSON, RDF, SPARQL results, scripts ...), and it is at least ``MIN_BYTES`` long.
Every such answer names ``Accept-Encoding`` in ``Vary``, compressed or not, so that a shared
cache keeps the two apart. A compressed answer's entity tag gains ``-gzip`` (it is another
representation), and a client's ``If-None-Match`` of that tag is understood.

An answer with an entity tag is compressed once and kept (``KEPT_BYTES`` at most): scripts,
release files and cached query results cost nothing the second time.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from hodo.core.formats import q_value

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Shorter answers are sent as they are: gzip would save less than a packet.
MIN_BYTES = 1024
#: Compressed answers kept by entity tag, in bytes of compressed data.
KEPT_BYTES = 32 * 2**20
#: zlib's level: 6 saves nearly all that 9 does at a fraction of the time.
LEVEL = 6
SUFFIX = "-gzip"
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml",
               "application/rdf+xml", "application/n-triples", "application/n-quads",
               "application/trig", "application/jsonl", "image/svg+xml",
               "application/sparql-results+json", "application/sparql-results+xml",
               "application/ld+json", "application/manifest+json")


def compressible(media_type: str) -> bool:
    """Whether answers of this media type are text that gzip shrinks.

    >>> compressible("text/html; charset=utf-8"), compressible("image/png")
    (True, False)
    """
    media = media_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json",
                                                                                "+xml"))


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` accepts gzip (``gzip`` or ``*`` with q above 0).

    >>> accepts_gzip("gzip, deflate, br"), accepts_gzip("gzip;q=0"), accepts_gzip(None)
    (True, False, False)
    """
    if not header:
        return False
    weights: dict[str, float] = {}
    for element in header.split(","):
        coding, *params = (part.strip() for part in element.split(";"))
        if coding:
            weights[coding.lower()] = q_value(params)
    named = weights.get("gzip", weights.get("x-gzip"))
    return (named if named is not None else weights.get("*", 0.0)) > 0


class Compress:
    """The WSGI layer; ``inner`` is the app below it."""

    def __init__(self, inner: WSGIApp) -> None:
        self.inner = inner
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._kept_bytes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        wanted = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        holds_gzip = wanted and SUFFIX in environ.get("HTTP_IF_NONE_MATCH", "")
        if holds_gzip:  # the app knows its tags without the suffix
            environ["HTTP_IF_NONE_MATCH"] = environ["HTTP_IF_NONE_MATCH"].replace(SUFFIX, "")
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                    ) -> Callable[[bytes], Any]:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda _: None  # the app's writes are not used by HODO

        chunks = self.inner(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = captured["status"], captured["headers"]
        if holds_gzip and status.startswith("304"):  # what the client holds is the gzip one
            headers = _vary_on_encoding([(n, _gzip_tag(v) if n.lower() == "etag" else v)
                                         for n, v in headers])
        else:
            headers, body = self._encoded(environ, status, headers, body, wanted)
        start_response(status, headers, captured.get("exc_info"))
        return [body]

    def _encoded(self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]],
                 body: bytes, wanted: bool) -> tuple[list[tuple[str, str]], bytes]:
        """The headers and body to send: compressed where that helps and is allowed."""
        names = {name.lower(): value for name, value in headers}
        if not compressible(names.get("content-type", "")) or "content-encoding" in names:
            return headers, body
        headers = _vary_on_encoding(headers)
        code = status.split(" ", 1)[0]
        # HEAD describes the identity representation: its length is the one it states
        if (not wanted or environ.get("REQUEST_METHOD") == "HEAD" or code != "200"
                or len(body) < MIN_BYTES):
            return headers, body
        etag = names.get("etag")
        packed = self._compress(body, etag)
        rewritten = [(n, v) for n, v in headers if n.lower() not in ("content-length", "etag")]
        rewritten += [("Content-Encoding", "gzip"), ("Content-Length", str(len(packed)))]
        if etag:
            rewritten.append(("ETag", _gzip_tag(etag)))
        return rewritten, packed

    def _compress(self, body: bytes, etag: str | None) -> bytes:
        """gzip of ``body``; kept by ``etag`` when there is one (a strong tag names the bytes)."""
        key = etag if etag and not etag.startswith("W/") else None
        if key is not None:
            with self._lock:
                kept = self._kept.get(key)
                if kept is not None:
                    self._kept.move_to_end(key)
                    return kept
        packed = gzip.compress(body, compresslevel=LEVEL, mtime=0)
        if key is not None and len(packed) <= KEPT_BYTES // 4:
            with self._lock:
                if key not in self._kept:
                    self._kept[key] = packed
                    self._kept_bytes += len(packed)
                while self._kept_bytes > KEPT_BYTES:
                    _, dropped = self._kept.popitem(last=False)
                    self._kept_bytes -= len(dropped)
        return packed


def _gzip_tag(etag: str) -> str:
    """``"abc"`` -> ``"abc-gzip"``: the tag of the compressed representation."""
    return etag[:-1] + SUFFIX + '"' if etag.endswith('"') else etag + SUFFIX


def _vary_on_encoding(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers with ``Accept-Encoding`` added to ``Vary`` (once)."""
    values = [v for n, v in headers if n.lower() == "vary"]
    named = {part.strip().lower() for value in values for part in value.split(",")}
    if "accept-encoding" in named or "*" in named:
        return headers
    if not values:
        return [*headers, ("Vary", "Accept-Encoding")]
    rest = [(n, v) for n, v in headers if n.lower() != "vary"]
    return [*rest, ("Vary", ", ".join([*values, "Accept-Encoding"]))]
