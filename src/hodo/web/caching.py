"""Caching of everything derived from the release: query results in memory, and HTTP validators.

A release never changes once loaded, so an answer computed from it stays right until another
release is served. Three caches follow from that:

- HTTP: every successful GET of release-derived content carries an ``ETag`` and a
  ``Cache-Control``; a client or proxy that revalidates with ``If-None-Match`` gets a 304 with
  no body. Versioned release files (``/releases/<version>/...``) are immutable. Operational
  and curator routes (``/health``, ``/metrics``, updates, the Graph Store) are never cached.
- ``ResponseReplay``: a WSGI layer in front of Flask that answers a GET it has answered before
  (same path, parameters, host and the request headers HODO's answers vary by) with the same
  status, headers and body, without routing, templates or query workers. What stays on this
  path is what keeps the server safe: the rate limit of ``/sparql`` and the metrics.
- ``ResultCache``: SPARQL results, keyed by the normalised query, the format asked for, the
  dataset and the release (and, in curator mode, the store's generation, which every staged
  change bumps), so that a query written another way, or sent by POST, is not run again.

Each is per web worker process and bounded by bytes, least recently used out first. Queries
that call ``RAND``, ``NOW``, ``UUID``, ``STRUUID`` or ``BNODE`` give a new answer each time and
are never cached. In curator mode only the result cache is used (the store may change).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Response, request
from werkzeug.http import parse_etags, unquote_etag

from hodo.engine.query import QueryResult, keywords
from hodo.web.metrics import route_of
from hodo.web.state import curator_enabled
from hodo.web.state import state as app_state

#: A year: what a versioned release file may be kept for (it can never change).
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
#: Paths whose answers depend on more than the release, or that change it.
UNCACHED_PREFIXES = ("/health", "/metrics", "/sparql/update", "/graph-store", "/validate")
#: SPARQL functions whose value changes from one run of a query to the next.
VOLATILE_FUNCTIONS = frozenset({"rand", "now", "uuid", "struuid", "bnode"})
#: The request headers HODO's answers vary by (their ``Vary``); a replayed answer matches all.
VARY_HEADERS = {"accept": "HTTP_ACCEPT", "accept-language": "HTTP_ACCEPT_LANGUAGE",
                "origin": "HTTP_ORIGIN"}


@dataclass(frozen=True)
class CachedResult:
    """A serialised result and its entity tag, computed once when it was stored."""

    result: QueryResult
    etag: str


class _LRU:
    """Least-recently-used values bounded by their sizes in bytes; thread-safe.

    A value larger than an eighth of the whole is not kept, so that one big answer cannot
    push out all the small ones.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        if size > self.max_bytes // 8:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


class ResultCache(_LRU):
    """SPARQL results by the key ``hodo.web.ops`` makes of a query and what it depends on."""

    def get(self, key: Hashable) -> CachedResult | None:
        return super().get(key)  # type: ignore[no-any-return]

    def store(self, key: Hashable, result: QueryResult) -> CachedResult:
        """Keep ``result`` (if it fits) and return it with its entity tag."""
        entry = CachedResult(result, entity_tag(result.body))
        self.put(key, entry, len(result.body) + _footprint(key))
        return entry


def cacheable_query(query: str, words: frozenset[str] | None = None) -> bool:
    """Whether a query gives the same answer every time it runs on the same data; ``words``:
    its ``keywords``, when they are known already."""
    return not (keywords(query) if words is None else words) & VOLATILE_FUNCTIONS


#: What an entry costs besides its strings: the objects that hold it, roughly.
_ENTRY_OVERHEAD = 512


def _footprint(key: Any) -> int:
    """Roughly the memory a key and its entry's bookkeeping take: many small answers must
    count against the budget too, not only their bodies."""
    strings = key if isinstance(key, tuple) else (key,)
    return _ENTRY_OVERHEAD + sum(len(part) for part in strings if isinstance(part, str))


def entity_tag(body: bytes) -> str:
    """A strong entity tag: the first 128 bits of the body's BLAKE2b digest, in hex."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


@dataclass
class CachingState:
    max_age: int
    results: ResultCache
    responses: _LRU


def init_app(app: Flask) -> None:
    """Make this app's caches from its checked settings and register the HTTP hook (the memory
    setting is shared: results and responses get half each)."""
    settings = app_state(app).settings
    cache_bytes = settings.result_cache_mb * 2**20
    app_state(app).caches = CachingState(settings.cache_max_age, ResultCache(cache_bytes // 2),
                                         _LRU(cache_bytes // 2))
    app.after_request(_http_caching)


def install_replay(app: Flask) -> None:
    """Put the replay layer in front of the app's WSGI callable (not in curator mode)."""
    caches = state(app)
    if caches.responses.max_bytes and not curator_enabled(app):
        app.wsgi_app = ResponseReplay(app, app.wsgi_app, caches.responses)  # type: ignore[method-assign]


def results() -> ResultCache:
    """The running app's result cache."""
    return state().results


def state(app: Flask | None = None) -> CachingState:
    """The caches of ``app``, or of the running app."""
    caches = app_state(app).caches
    assert caches is not None, "caching.init_app has not run"
    return caches


def _http_caching(response: Response) -> Response:
    """Validators and freshness for release-derived GETs; a 304 when the client has it."""
    path = request.path
    if path.startswith(UNCACHED_PREFIXES):
        response.headers.setdefault("Cache-Control", "no-store")
        return response
    if (request.method not in ("GET", "HEAD") or response.status_code != 200
            or "Cache-Control" in response.headers):
        return response
    if response.get_etag()[0] is None:
        if response.is_streamed or response.direct_passthrough:
            return response
        response.set_etag(entity_tag(response.get_data()))
    response.headers["Cache-Control"] = freshness(path)
    return response.make_conditional(request)  # type: ignore[return-value]


def freshness(path: str, app: Flask | None = None) -> str:
    """The ``Cache-Control`` of a release-derived answer at ``path``, in ``app`` (or the
    running app): the one rule for Flask's answers and the SPARQL lane's."""
    if curator_enabled(app):
        return "no-cache"  # staged changes can alter any answer: always revalidate
    if path.startswith("/releases/"):
        return f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
    return f"public, max-age={state(app).max_age}"


# --------------------------------------------------------------------------------------------
# Replaying whole answers

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class _Answer:
    """A complete answer as the app gave it, and what replaying it must still do."""

    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    route: str
    #: A /sparql query: it takes a token from the client's rate-limit bucket.
    rate_limited: bool


class ResponseReplay:
    """WSGI middleware: answers a GET it has seen from the answers kept in ``cache``.

    Only answers that ``_http_caching`` marked as public, with an entity tag and a known
    ``Vary``, are kept; the key is everything such an answer can depend on.
    """

    def __init__(self, app: Flask, inner: WSGIApp, cache: _LRU) -> None:
        self.app = app
        self.inner = inner
        self.cache = cache

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or path.startswith(UNCACHED_PREFIXES):
            return self.inner(environ, start_response)
        key = (environ.get("SCRIPT_NAME", ""), path, environ.get("QUERY_STRING", ""),
               environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme", ""),
               *(environ.get(name, "") for name in VARY_HEADERS.values()))
        answer: _Answer | None = self.cache.get(key)
        if answer is None:
            return self._capture(key, environ, start_response)
        return self._replay(answer, environ, start_response)

    def _replay(self, answer: _Answer, environ: dict[str, Any], start_response: StartResponse
                ) -> Iterable[bytes]:
        started = time.monotonic()
        counters = app_state(self.app).ops
        assert counters is not None
        if answer.rate_limited and counters.limiter.take(
                environ.get("REMOTE_ADDR") or "unknown") is not None:
            return self.inner(environ, start_response)  # the app answers 429 and counts it
        matched = parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(answer.etag)
        if matched:
            start_response("304 Not Modified", [(k, v) for k, v in answer.headers
                                                 if k.lower() not in _NOT_IN_304])
            body: list[bytes] = []
        else:
            start_response("200 OK", list(answer.headers))
            body = [answer.body]
        counters.metrics.add("requests", answer.route, "3xx" if matched else "2xx")
        if answer.route == "sparql":
            counters.metrics.observe(time.monotonic() - started)
        return body

    def _capture(self, key: tuple[str, ...], environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            seen.update(status=status, headers=headers)
            return start_response(status, headers, *args)

        result = self.inner(environ, capture)
        headers = seen.get("headers")
        if not seen.get("status", "").startswith("200 ") or not _keepable(headers or []):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = [(k, v) for k, v in headers or [] if k.lower() != "date"]  # the server's own
        size = len(body) + _footprint(key) + sum(len(k) + len(v) for k, v in kept)
        self.cache.put(key, self._answer(environ, kept, body), size)
        return [body]

    def _answer(self, environ: dict[str, Any], headers: list[tuple[str, str]], body: bytes
                ) -> _Answer:
        path = environ.get("PATH_INFO", "")
        etag = unquote_etag(next(v for k, v in headers if k.lower() == "etag"))[0] or ""
        query = path.startswith("/sparql") and names_a_query(environ.get("QUERY_STRING", ""))
        return _Answer(list(headers), body, etag, route_of(path), query)


def names_a_query(query_string: str) -> bool:
    """Whether the parameters hold a ``query``, however its name is written: read at once
    where it stands as written (most requests), else from the decoded parameters.

    >>> names_a_query("query=ASK%7B%7D"), names_a_query("lang=zh&%71uery=x")
    (True, True)
    >>> names_a_query("lang=zh"), names_a_query("xquery=1")
    (False, False)
    """
    if query_string.startswith("query=") or "&query=" in query_string:
        return True
    return any(name == "query" for name, _ in parse_qsl(query_string, keep_blank_values=True))


#: Headers a 304 leaves out: it has no body.
_NOT_IN_304 = {"content-length", "content-type", "content-disposition"}
#: Answers larger than this are not read into memory to be kept.
_MAX_KEPT = 4 * 2**20


def _keepable(headers: list[tuple[str, str]]) -> bool:
    """A public answer with an entity tag, a length and only the ``Vary`` HODO uses."""
    found = {k.lower(): v for k, v in headers}
    vary = {v.strip().lower() for v in found.get("vary", "").split(",") if v.strip()}
    length = found.get("content-length", "")
    return ("etag" in found and "public" in found.get("cache-control", "")
            and "set-cookie" not in found and vary <= set(VARY_HEADERS)
            and length.isdigit() and int(length) <= _MAX_KEPT)
