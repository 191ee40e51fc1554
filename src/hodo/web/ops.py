"""Operations: limits, guarded query execution, rate limiting, health, metrics, CORS, headers.

Everything shared between the web server's worker processes (metrics, the rate limiter, the
slow-query slots) lives in shared memory made in ``init_app``, which runs before the server
forks, so every worker counts into the same numbers. The query processes themselves are forked
by each web worker from its own copy of the loaded release (``hodo.engine.workers``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from hodo.core.settings import Settings, defaults
from hodo.core.slots import ProcessSlots
from hodo.engine.query import (
    Limits,
    NotAcceptable,
    QueryError,
    QueryResult,
    execute,
    read,
    refuse_by_keywords,
)
from hodo.engine.remote import RemoteStore
from hodo.engine.workers import PoolSettings, Unavailable, WorkerPool
from hodo.web import caching
from hodo.web.errors import error_response
from hodo.web.metrics import RESTARTED_BY, Metrics, RateLimiter, route_of
from hodo.web.state import curator_enabled, get_release
from hodo.web.state import state as app_state

bp = Blueprint("ops", __name__)

#: The settings this module reads, with their defaults (declared in ``hodo.core.settings``).
DEFAULTS: dict[str, Any] = {key: value for key, value in defaults().items() if key in (
    "HODO_QUERY_TIMEOUT", "HODO_QUERY_MEMORY_MB", "HODO_QUERY_WORKERS", "HODO_SLOW_QUERY_AFTER",
    "HODO_SLOW_QUERY_SLOTS", "HODO_QUEUE_TIMEOUT", "HODO_MAX_ROWS", "HODO_MAX_RESULT_BYTES",
    "HODO_RATE_LIMIT", "HODO_RATE_BURST", "HODO_CORS_ORIGIN", "HODO_CSP")}


@dataclass(frozen=True)
class OpsSettings:
    """The settings of query execution, shaped as the worker pool and the limits take them."""

    pool: PoolSettings
    workers: int
    slow_slots: int
    limits: Limits
    rate_per_minute: int
    rate_burst: int
    cors_origin: str
    csp: str


def read_settings(config: Mapping[str, Any]) -> OpsSettings:
    """The settings from ``config`` (strings from the environment allowed), checked.

    Raises:
        SettingError: a setting is not a number of the right kind, or is out of range.
    """
    return ops_settings(Settings.from_mapping(config))


def ops_settings(settings: Settings) -> OpsSettings:
    """The pool's and the limits' view of ``settings``."""
    pool = PoolSettings(size=max(settings.query_workers, 1), deadline=settings.query_timeout,
                        memory_bytes=settings.query_memory_mb * 2**20,
                        slow_after=settings.slow_query_after,
                        queue_timeout=settings.queue_timeout)
    return OpsSettings(
        pool=pool, workers=settings.query_workers, slow_slots=settings.slow_query_slots,
        limits=Limits(settings.max_rows, settings.max_result_bytes),
        rate_per_minute=settings.rate_limit, rate_burst=settings.rate_burst,
        cors_origin=settings.cors_origin, csp=settings.csp)


@dataclass
class OpsState:
    """What ``init_app`` made: settings, shared tables, and this process's worker pool."""

    settings: OpsSettings
    metrics: Metrics
    limiter: RateLimiter
    slots: ProcessSlots
    pool: WorkerPool | None = None
    pool_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Bumped by every change to the store (curator mode): cached results of older ones lapse.
    generation: int = 0


def init_app(app: Flask) -> None:
    """Make the shared tables from the app's checked settings; call before the server forks."""
    settings = ops_settings(app_state(app).settings)
    app_state(app).ops = OpsState(
        settings, Metrics(), RateLimiter(settings.rate_per_minute, settings.rate_burst),
        ProcessSlots(settings.slow_slots))
    app.register_blueprint(bp)


def state(app: Flask | None = None) -> OpsState:
    """The ops state of ``app``, or of the running app."""
    ops = app_state(app).ops
    assert ops is not None, "ops.init_app has not run"
    return ops


def pool_for(app: Flask, store: ox.Store) -> WorkerPool:
    """This process's pool over ``store`` for ``app``: made (and forked) on first use in each
    process. A web worker forked from the main process inherits the main process's pool object
    but not its children, so it makes its own; the pool is closed when the app is collected or
    the process exits."""
    ops = state(app)
    with ops.pool_lock:
        pool = ops.pool
        if (pool is None or pool.owner != os.getpid() or pool.store is not store
                or pool.closed):
            pool = ops.pool = WorkerPool(store, ops.settings.pool)
            weakref.finalize(app, pool.close)  # also runs at exit, like atexit
        return pool


def store_changed(app: Flask) -> None:
    """Call after the store is written to (curator mode): query workers fork again from it,
    and cached results of the old store are no longer used."""
    state(app).generation += 1
    pool = state(app).pool
    if pool is not None and pool.owner == os.getpid():
        pool.recycle()


def prestart(app: Flask, threaded: bool = False) -> None:
    """Fork this process's query workers now (a web server worker calls this as it starts,
    while it is one thread; ``threaded``: it will then run requests in several threads)."""
    if state(app).settings.workers > 0:
        with app.app_context():
            pool_for(app, get_release().sparql_store).start(threaded=threaded)


def request_threads(app: Flask) -> int:
    """Requests one web worker runs at once: one per query worker, so that a slow query holds
    one thread and the others still answer; one in curator mode (its store is written) or
    with queries run in the web worker itself."""
    workers = state(app).settings.workers
    return 1 if curator_enabled(app) or workers < 1 else workers


def shutdown(app: Flask) -> None:
    """Kill this process's query workers (as a web server worker exits)."""
    pool = state(app).pool
    if pool is not None:
        pool.close()


# --------------------------------------------------------------------------------------------
# Guarded execution


def run_query(store: ox.Store, query: str, accept: str | None = None,
              format_name: str | None = None, *, app: Flask | None = None,
              **kwargs: Any) -> QueryResult:
    """``hodo.engine.query.execute`` in a query worker, with this server's limits, counted; answered
    from the result cache when the same query was answered before on this release.

    ``app`` defaults to the current one (the SPARQL lane calls this outside Flask's contexts).

    Raises:
        QueryError, NotAcceptable: as ``execute`` does.
        Unavailable: the query overran its deadline, crashed its worker, or found no room.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ops = state(app)
    metrics = ops.metrics
    metrics.add("in_flight")
    try:
        # one reading of the text: nothing too large, deep or complex reaches a parser, even
        # in a worker; updates and SERVICE are refused by their keywords; the cache keys on
        # its normal form; the worker is left only the parse, where the letters call for it
        reading = read(query)
        refuse_by_keywords(reading.keywords)
        kwargs = {**kwargs, "checked": True}
        if not caching.cacheable_query(query, reading.keywords):
            return _execute(app, store, query, accept, format_name, kwargs)
        key = _cache_key(app, reading.normal, accept, format_name, kwargs)
        cache = caching.state(app).results
        cached = cache.get(key)
        if cached is not None:
            return dataclasses.replace(cached.result, etag=cached.etag)
        result = _execute(app, store, query, accept, format_name, kwargs)
        entry = cache.store(key, result)
        return dataclasses.replace(result, etag=entry.etag)
    except (QueryError, Unavailable) as error:
        metrics.add("rejections", error.reason)
        if error.reason in RESTARTED_BY:
            metrics.add("restarts", RESTARTED_BY[error.reason])
        raise
    except NotAcceptable:
        metrics.add("rejections", "not_acceptable")
        raise
    finally:
        metrics.add("in_flight", amount=-1)


def _execute(app: Flask, store: ox.Store, query: str, accept: str | None,
             format_name: str | None, kwargs: dict[str, Any]) -> QueryResult:
    ops = state(app)
    limits = ops.settings.limits
    options = {"accept": accept, "format_name": format_name,
               "limits": {"max_rows": limits.max_rows, "max_bytes": limits.max_bytes}, **kwargs}
    if ops.settings.workers == 0 or not isinstance(store, ox.Store):
        # no pool configured, or a remote backend: the query runs on another server,
        # under that client's own deadline, so nothing here needs a process boundary
        options["limits"] = ops.settings.limits
        return execute(store, query, **options)
    return pool_for(app, store).run(query, _plain(options), ops.slots)


def _cache_key(app: Flask, normal: str, accept: str | None, format_name: str | None,
               kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """What a result depends on: the query's normal form (``normalise``), the format asked
    for, the dataset, the base IRI, and the release and store generation being served."""
    options = tuple(sorted((k, tuple(v) if isinstance(v, list | tuple | set | frozenset)
                            else v) for k, v in kwargs.items()))
    return (normal, accept or "", format_name or "", options,
            app_state(app).release.version, state(app).generation)


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON values for the trip to a worker (sets and tuples become lists)."""
    return {k: sorted(v) if isinstance(v, set | frozenset) else list(v)
            if isinstance(v, tuple) else v for k, v in options.items()}


# --------------------------------------------------------------------------------------------
# Request hooks and routes


def rate_counted(path: str, method: str, has_query: bool) -> bool:
    """Whether a request counts against its client's rate: a query, an update, and a
    validation (each forks a process); not the query page, the service description or the
    validation form, which cost nothing.

    >>> rate_counted("/validate", "POST", False), rate_counted("/validate", "GET", False)
    (True, False)
    """
    if method == "OPTIONS":
        return False
    if path == "/validate":
        return method == "POST"
    if not path.startswith("/sparql"):
        return False
    return has_query or method not in ("GET", "HEAD")


@bp.before_app_request
def _limit_rate() -> Response | None:
    g.ops_started = time.monotonic()
    if not rate_counted(request.path, request.method, "query" in request.args):
        return None
    wait = state().limiter.take(request.remote_addr or "unknown")
    if wait is None:
        return None
    state().metrics.add("rejections", "rate_limited")
    response = error_response(429, "too many requests from this address; slow down and retry "
                                   "after the number of seconds in Retry-After")
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


@bp.after_app_request
def _finish(response: Response) -> Response:
    ops = state()
    route = route_of(request.path)
    ops.metrics.add("requests", route, f"{min(max(response.status_code // 100, 2), 5)}xx")
    started = getattr(g, "ops_started", None)
    if route == "sparql" and started is not None:
        ops.metrics.observe(time.monotonic() - started)
    _cors(response, ops.settings.cors_origin)
    _security_headers(response, ops.settings.csp)
    return response


EXPOSED_HEADERS = "Retry-After, Content-Language, Content-Location, Link, ETag"


def cors_headers(origin: str) -> list[tuple[str, str]]:
    """What a read answer says to other origins (nothing when CORS is off)."""
    if not origin:
        return []
    return [("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]


def security_headers(csp: str) -> list[tuple[str, str]]:
    """Same-origin scripts and styles only, no framing, no sniffing, a short Referer."""
    return [("Content-Security-Policy", csp), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"), ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]


def _cors(response: Response, origin: str) -> None:
    """Reads may come from any page; writes (curator paths, Graph Store) may not."""
    preflight = (request.method == "OPTIONS" and request.path == "/sparql"
                 and "Access-Control-Request-Method" in request.headers)
    read = request.method in ("GET", "HEAD") or (request.method == "POST"
                                                 and request.path == "/sparql")
    if not origin or not (read or preflight):
        return
    for name, value in cors_headers(origin):
        response.headers[name] = value
    if origin != "*":
        response.vary.add("Origin")
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"


def _security_headers(response: Response, csp: str) -> None:
    """The security headers, where the view has not set its own (the query page's CSP)."""
    for name, value in security_headers(csp):
        response.headers.setdefault(name, value)


@bp.app_errorhandler(Unavailable)
def _unavailable(error: Unavailable) -> Response:
    response = error_response(503, str(error))
    response.headers["Retry-After"] = str(max(1, error.retry_after))
    return response


@bp.route("/health")
def health() -> Response:
    """Liveness and the release served; with this process's query workers, if started."""
    ops = state()
    body: dict[str, Any] = {"status": "ok", "version": get_release().version}
    pool = ops.pool
    if pool is not None and pool.owner == os.getpid():
        body["query_workers"] = {"size": ops.settings.pool.size, "idle": pool.idle()}
    store = get_release().sparql_store
    if isinstance(store, RemoteStore):  # every page and query depends on the backend
        trouble = store.probe()
        body["backend"] = {"url": store.url, "status": "ok" if trouble is None else "down"}
        if trouble is not None:
            body["status"], body["backend"]["error"] = "down", trouble
            response = jsonify(body)
            response.status_code = 503
            response.headers["Retry-After"] = "5"
            return response
    return jsonify(body)


@bp.route("/metrics")
def metrics() -> Response:
    ops = state()
    text = ops.metrics.render(get_release().version, ops.slots.held())
    return Response(text, 200, content_type="text/plain; version=0.0.4; charset=utf-8")
