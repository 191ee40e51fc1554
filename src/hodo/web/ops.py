"""Operations: limits, guarded query execution, rate limiting, health, metrics, CORS, headers.

Everything shared between the web server's worker processes (metrics, the rate limiter, the
slow-query slots) lives in shared memory made in ``init_app``, which runs before the server
forks, so every worker counts into the same numbers. The query processes themselves are forked
by each web worker from its own copy of the loaded release (``hodo.engine.workers``).
"""

from __future__ import annotations

import atexit
import dataclasses
import math
import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from hodo.engine.query import (
    Limits,
    NotAcceptable,
    QueryError,
    QueryResult,
    execute,
    normalise,
    precheck,
)
from hodo.engine.workers import PoolSettings, SlowSlots, Unavailable, WorkerPool

bp = Blueprint("ops", __name__)
EXTENSION = "hodo.ops"

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'none'")

#: Settings of this module, their defaults and their types (checked at start-up).
DEFAULTS: dict[str, Any] = {
    "HODO_QUERY_TIMEOUT": 10.0,
    "HODO_QUERY_MEMORY_MB": 512,
    "HODO_QUERY_WORKERS": 2,
    "HODO_SLOW_QUERY_AFTER": 1.0,
    "HODO_SLOW_QUERY_SLOTS": 1,
    "HODO_QUEUE_TIMEOUT": 5.0,
    "HODO_MAX_ROWS": 10000,
    "HODO_MAX_RESULT_BYTES": 16 * 2**20,
    "HODO_RATE_LIMIT": 600,
    "HODO_RATE_BURST": 60,
    "HODO_CORS_ORIGIN": "*",
    "HODO_CSP": DEFAULT_CSP,
}
_MINIMUM = {"HODO_QUERY_TIMEOUT": 0.1, "HODO_QUERY_MEMORY_MB": 16, "HODO_QUERY_WORKERS": 0,
            "HODO_SLOW_QUERY_AFTER": 0.0, "HODO_SLOW_QUERY_SLOTS": 0, "HODO_QUEUE_TIMEOUT": 0.0,
            "HODO_MAX_ROWS": 1, "HODO_MAX_RESULT_BYTES": 1024, "HODO_RATE_LIMIT": 0,
            "HODO_RATE_BURST": 1}

HISTOGRAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROUTES = ("sparql", "page", "static", "health", "metrics")
CODES = ("2xx", "3xx", "4xx", "5xx")
#: Why a request was refused; QueryError.reason and Unavailable.reason values, and the rest.
REASONS = ("too_large", "too_deep", "syntax", "service", "dataset", "update", "invalid",
           "failed", "result_rows", "result_bytes", "not_acceptable", "rate_limited", "busy",
           "overloaded", "crash", "timeout")
RESTART_CAUSES = ("timeout", "crash", "busy")
#: Unavailable reasons after which the query worker was killed and replaced.
_RESTARTED_BY = {"timeout": "timeout", "crash": "crash", "overloaded": "busy"}


@dataclass(frozen=True)
class OpsSettings:
    """The checked settings."""

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
        ValueError: a setting is not a number of the right kind, or is out of range.
    """
    values = {key: _number(config, key) for key in _MINIMUM}
    pool = PoolSettings(size=max(int(values["HODO_QUERY_WORKERS"]), 1),
                        deadline=float(values["HODO_QUERY_TIMEOUT"]),
                        memory_bytes=int(values["HODO_QUERY_MEMORY_MB"]) * 2**20,
                        slow_after=float(values["HODO_SLOW_QUERY_AFTER"]),
                        queue_timeout=float(values["HODO_QUEUE_TIMEOUT"]))
    return OpsSettings(
        pool=pool, workers=int(values["HODO_QUERY_WORKERS"]),
        slow_slots=int(values["HODO_SLOW_QUERY_SLOTS"]),
        limits=Limits(int(values["HODO_MAX_ROWS"]), int(values["HODO_MAX_RESULT_BYTES"])),
        rate_per_minute=int(values["HODO_RATE_LIMIT"]), rate_burst=int(values["HODO_RATE_BURST"]),
        cors_origin=str(config.get("HODO_CORS_ORIGIN", DEFAULTS["HODO_CORS_ORIGIN"])),
        csp=str(config.get("HODO_CSP", DEFAULTS["HODO_CSP"])))


def _number(config: Mapping[str, Any], key: str) -> float:
    raw = config.get(key, DEFAULTS[key])
    kind = type(DEFAULTS[key])
    try:
        value = kind(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value) or value < _MINIMUM[key]:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{key} must be {what} >= {_MINIMUM[key]}, not {raw!r}")
    return float(value)


# --------------------------------------------------------------------------------------------
# Shared state


class Metrics:
    """Counters and a histogram in shared memory, written as Prometheus text."""

    def __init__(self) -> None:
        names = [("requests", route, code) for route in ROUTES for code in CODES]
        names += [("rejections", reason, "") for reason in REASONS]
        names += [("restarts", cause, "") for cause in RESTART_CAUSES]
        names += [("bucket", str(b), "") for b in HISTOGRAM_BUCKETS]
        names += [("bucket", "+Inf", ""), ("duration_sum", "", ""), ("in_flight", "", "")]
        self._index = {name: i for i, name in enumerate(names)}
        context = multiprocessing.get_context("fork")
        self._values = context.RawArray("d", len(names))
        self._lock = context.Lock()

    def add(self, name: str, label: str = "", code: str = "", amount: float = 1.0) -> None:
        index = self._index[(name, label, code)]
        if self._lock.acquire(timeout=1):
            try:
                self._values[index] += amount
            finally:
                self._lock.release()

    def observe(self, seconds: float) -> None:
        """One /sparql request of this duration (cumulative buckets, as Prometheus wants),
        counted under one acquisition of the lock: this runs on every query."""
        indexes = [self._index[("bucket", str(b), "")] for b in HISTOGRAM_BUCKETS
                   if seconds <= b]
        indexes.append(self._index[("bucket", "+Inf", "")])
        if self._lock.acquire(timeout=1):
            try:
                for index in indexes:
                    self._values[index] += 1
                self._values[self._index[("duration_sum", "", "")]] += seconds
            finally:
                self._lock.release()

    def get(self, name: str, label: str = "", code: str = "") -> float:
        return float(self._values[self._index[(name, label, code)]])

    def render(self, version: str, slots_in_use: int) -> str:
        """The Prometheus text exposition format, version 0.0.4."""
        lines = ["# HELP hodo_info The release being served.", "# TYPE hodo_info gauge",
                 f'hodo_info{{version="{_escape(version)}"}} 1']
        lines += _family("hodo_http_requests_total", "counter",
                         "HTTP requests by route and status.",
                         [(f'route="{r}",code="{c}"', self.get("requests", r, c))
                          for r in ROUTES for c in CODES])
        lines += _family("hodo_query_timeouts_total", "counter",
                         "Queries stopped at their deadline.", [("", self.get("rejections",
                                                                         "timeout"))])
        lines += _family("hodo_query_rejections_total", "counter",
                         "Queries refused or not answered, by reason.",
                         [(f'reason="{r}"', self.get("rejections", r)) for r in REASONS])
        lines += _family("hodo_query_worker_restarts_total", "counter",
                         "Query processes killed and replaced, by cause.",
                         [(f'cause="{c}"', self.get("restarts", c)) for c in RESTART_CAUSES])
        lines += _family("hodo_queries_in_flight", "gauge", "Queries running now.",
                         [("", self.get("in_flight"))])
        lines += _family("hodo_slow_query_slots_in_use", "gauge",
                         "Slow-query slots held now.", [("", float(slots_in_use))])
        lines += ["# HELP hodo_sparql_request_duration_seconds Time to answer /sparql requests.",
                  "# TYPE hodo_sparql_request_duration_seconds histogram"]
        for bound in (*map(str, HISTOGRAM_BUCKETS), "+Inf"):
            lines.append(f'hodo_sparql_request_duration_seconds_bucket{{le="{bound}"}} '
                         f'{_num(self.get("bucket", bound))}')
        lines.append(f"hodo_sparql_request_duration_seconds_sum {self.get('duration_sum')!r}")
        lines.append("hodo_sparql_request_duration_seconds_count "
                     f"{_num(self.get('bucket', '+Inf'))}")
        return "\n".join(lines) + "\n"


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{{{labels}}} {_num(v)}" if labels else f"{name} {_num(v)}"
              for labels, v in samples]
    return lines


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class RateLimiter:
    """Token buckets per client address in shared memory: ``per_minute`` with bursts.

    Clients are hashed into a fixed table; two that share a bucket share its limit, which
    errs on the strict side and keeps memory bounded whatever the number of clients.
    """

    SIZE = 16384

    def __init__(self, per_minute: int, burst: int) -> None:
        context = multiprocessing.get_context("fork")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._tokens = context.RawArray("d", self.SIZE)
        self._stamps = context.RawArray("d", self.SIZE)
        self._lock = context.Lock()

    def take(self, client: str) -> float | None:
        """None when the client may go on, else the seconds until it may."""
        if self.rate <= 0 or not self._lock.acquire(timeout=1):
            return None
        try:
            index = zlib.crc32(client.encode("utf-8", "replace")) % self.SIZE
            now = time.monotonic()
            stamp = self._stamps[index]
            tokens = self.burst if stamp == 0 else min(
                self.burst, self._tokens[index] + (now - stamp) * self.rate)
            self._stamps[index] = now
            if tokens >= 1:
                self._tokens[index] = tokens - 1
                return None
            self._tokens[index] = tokens
            return (1 - tokens) / self.rate
        finally:
            self._lock.release()


@dataclass
class OpsState:
    """What ``init_app`` made: settings, shared tables, and this process's worker pool."""

    settings: OpsSettings
    metrics: Metrics
    limiter: RateLimiter
    slots: SlowSlots
    pool: WorkerPool | None = None
    #: Bumped by every change to the store (curator mode): cached results of older ones lapse.
    generation: int = 0


def init_app(app: Flask) -> None:
    """Check the settings and make the shared tables; call before the server forks.

    Raises:
        ValueError: a setting is invalid.
    """
    settings = read_settings(app.config)
    app.extensions[EXTENSION] = OpsState(
        settings, Metrics(), RateLimiter(settings.rate_per_minute, settings.rate_burst),
        SlowSlots(settings.slow_slots))
    app.register_blueprint(bp)


def state(app: Flask | None = None) -> OpsState:
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


#: Pools by (process, store, settings): apps over the same release in one process share one.
_POOLS: dict[tuple[int, int, PoolSettings], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(app: Flask, store: ox.Store) -> WorkerPool:
    """This process's pool over ``store``: made (and forked) on first use in each process."""
    ops = state(app)
    key = (os.getpid(), id(store), ops.settings.pool)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.store is not store or pool.closed:
            pool = _POOLS[key] = WorkerPool(store, ops.settings.pool)
            atexit.register(pool.close)
        ops.pool = pool
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
    from hodo.web import get_release

    if state(app).settings.workers > 0:
        with app.app_context():
            pool_for(app, get_release().sparql_store).start(threaded=threaded)


def request_threads(app: Flask) -> int:
    """Requests one web worker runs at once: one per query worker, so that a slow query holds
    one thread and the others still answer; one in curator mode (its store is written) or
    with queries run in the web worker itself."""
    workers = state(app).settings.workers
    return 1 if app.config.get("HODO_CURATOR_TOKEN") or workers < 1 else workers


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
    from hodo.web import caching

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ops = state(app)
    metrics = ops.metrics
    metrics.add("in_flight")
    try:
        precheck(query)  # nothing too large or deep reaches a parser, even in a worker
        if not caching.cacheable_query(query):
            return _execute(app, store, query, accept, format_name, kwargs)
        key = _cache_key(app, query, accept, format_name, kwargs)
        cache = caching.state(app).results
        cached = cache.get(key)
        if cached is not None:
            return dataclasses.replace(cached.result, etag=cached.etag)
        result = _execute(app, store, query, accept, format_name, kwargs)
        entry = cache.store(key, result)
        return dataclasses.replace(result, etag=entry.etag)
    except (QueryError, Unavailable) as error:
        metrics.add("rejections", error.reason)
        if error.reason in _RESTARTED_BY:
            metrics.add("restarts", _RESTARTED_BY[error.reason])
        raise
    except NotAcceptable:
        metrics.add("rejections", "not_acceptable")
        raise
    finally:
        metrics.add("in_flight", amount=-1)


def _execute(app: Flask, store: ox.Store, query: str, accept: str | None,
             format_name: str | None, kwargs: dict[str, Any]) -> QueryResult:
    ops = state(app)
    options = {"accept": accept, "format_name": format_name,
               "limits": dataclasses.asdict(ops.settings.limits), **kwargs}
    if ops.settings.workers == 0 or not isinstance(store, ox.Store):
        # no pool configured, or a remote backend: the query runs on another server,
        # under that client's own deadline, so nothing here needs a process boundary
        options["limits"] = ops.settings.limits
        return execute(store, query, **options)
    return pool_for(app, store).run(query, _plain(options), ops.slots)


def _cache_key(app: Flask, query: str, accept: str | None, format_name: str | None,
               kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """What a result depends on: the query's normal form, the format asked for, the dataset,
    the base IRI, and the release and store generation being served."""
    options = tuple(sorted((k, tuple(v) if isinstance(v, list | tuple | set | frozenset)
                            else v) for k, v in kwargs.items()))
    return (normalise(query), accept or "", format_name or "", options,
            app.extensions["hodo"].version, state(app).generation)


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON values for the trip to a worker (sets and tuples become lists)."""
    return {k: sorted(v) if isinstance(v, set | frozenset) else list(v)
            if isinstance(v, tuple) else v for k, v in options.items()}


# --------------------------------------------------------------------------------------------
# Request hooks and routes


def route_of(path: str) -> str:
    """The metrics label of a path."""
    if path.startswith("/sparql"):
        return "sparql"
    if path.startswith("/static/"):
        return "static"
    if path in ("/health", "/metrics"):
        return path[1:]
    return "page"


@bp.before_app_request
def _limit_rate() -> Response | None:
    g.ops_started = time.monotonic()
    if not request.path.startswith("/sparql") or request.method == "OPTIONS":
        return None
    if request.method in ("GET", "HEAD") and "query" not in request.args:
        return None  # the query page and the service description cost nothing
    wait = state().limiter.take(request.remote_addr or "unknown")
    if wait is None:
        return None
    from hodo.web.errors import error_response

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
    from hodo.web.errors import error_response

    response = error_response(503, str(error))
    response.headers["Retry-After"] = str(max(1, error.retry_after))
    return response


@bp.route("/health")
def health() -> Response:
    """Liveness and the release served; with this process's query workers, if started."""
    from hodo.web import get_release

    ops = state()
    body: dict[str, Any] = {"status": "ok", "version": get_release().version}
    pool = ops.pool
    if pool is not None and pool.owner == os.getpid():
        body["query_workers"] = {"size": ops.settings.pool.size, "idle": pool.idle()}
    return jsonify(body)


@bp.route("/metrics")
def metrics() -> Response:
    from hodo.web import get_release

    ops = state()
    text = ops.metrics.render(get_release().version, ops.slots.held())
    return Response(text, 200, content_type="text/plain; version=0.0.4; charset=utf-8")
