"""The numbers an operator reads: requests, rejections and restarts counted in shared memory
and written as Prometheus text, the rate limiter's buckets, and the route label of a path.

Made before the web server forks (``hodo.web.ops.init_app``), so every web worker counts into
the same numbers.
"""

from __future__ import annotations

import multiprocessing
import time
import zlib

HISTOGRAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROUTES = ("sparql", "page", "static", "health", "metrics")
CODES = ("2xx", "3xx", "4xx", "5xx")
#: Why a request was refused; QueryError.reason and Unavailable.reason values, and the rest.
REASONS = ("too_large", "too_deep", "too_complex", "syntax", "service", "dataset", "update",
           "unreadable", "invalid", "failed", "result_rows", "result_bytes", "not_acceptable",
           "rate_limited", "busy", "overloaded", "crash", "timeout")
RESTART_CAUSES = ("timeout", "crash", "busy")
#: Unavailable reasons after which the query worker was killed and replaced.
RESTARTED_BY = {"timeout": "timeout", "crash": "crash", "overloaded": "busy"}


class Metrics:
    """Counters and a histogram in shared memory, written as Prometheus text."""

    def __init__(self) -> None:
        names = [("requests", route, code) for route in ROUTES for code in CODES]
        names += [("rejections", reason, "") for reason in REASONS]
        names += [("restarts", cause, "") for cause in RESTART_CAUSES]
        names += [("bucket", str(b), "") for b in HISTOGRAM_BUCKETS]
        names += [("bucket", "+Inf", ""), ("duration_sum", "", ""), ("in_flight", "", "")]
        self._index = {name: i for i, name in enumerate(names)}
        #: Each bucket's bound with its slot, then +Inf's and the sum's: found once, not per query.
        self._buckets = [(b, self._index[("bucket", str(b), "")]) for b in HISTOGRAM_BUCKETS]
        self._always = (self._index[("bucket", "+Inf", "")], self._index[("duration_sum", "", "")])
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
        infinite, total = self._always
        indexes = [index for bound, index in self._buckets if seconds <= bound]
        if self._lock.acquire(timeout=1):
            try:
                for index in indexes:
                    self._values[index] += 1
                self._values[infinite] += 1
                self._values[total] += seconds
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


def route_of(path: str) -> str:
    """The metrics label of a path."""
    if path.startswith("/sparql"):
        return "sparql"
    if path.startswith("/static/"):
        return "static"
    if path in ("/health", "/metrics"):
        return path[1:]
    return "page"
