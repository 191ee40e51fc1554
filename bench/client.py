"""HTTP clients: sequential latency on keep-alive connections, throughput from client processes.

``http.client`` reuses a connection while the server keeps it open, and reconnects when the
server closes it after a response, as any client would; the connections opened are counted.
Throughput runs in separate processes, not threads, so the client's own GIL is not the limit.
"""

from __future__ import annotations

import http.client
import math
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.queries import Pool, Query
from hodo.core.slots import consecutive_runs


@dataclass(frozen=True)
class Target:
    """One server: a name ("hodo" or "oxigraph") and its loopback port."""

    name: str
    port: int
    host: str = "127.0.0.1"


@dataclass
class Reply:
    """One response: status, body and seconds from request to last byte."""

    status: int
    body: bytes
    seconds: float


class Client:
    """A keep-alive connection to one server that reconnects when the server closes it."""

    def __init__(self, target: Target, timeout: float = 60.0) -> None:
        self.target = target
        self.conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        #: connections opened: fewer than requests when the server keeps them alive
        self.connections = 0

    def get(self, path: str, accept: str) -> Reply:
        """GET ``path``; a failed connection counts as status 0, never raises."""
        start = time.perf_counter()
        if self.conn.sock is None:
            self.connections += 1
        try:
            self.conn.request("GET", path, headers={"Accept": accept})
            response = self.conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            body, status = b"", 0
        return Reply(status, body, time.perf_counter() - start)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank, of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


#: Runs each target's sequential requests are cut into (see ``sequential``).
BLOCKS = 4


def sequential(targets: list[Target], query: Query, pool: Pool, regime: str, n: int,
               first: int, budget_s: float | None = None) -> dict[str, dict[str, Any]]:
    """``n`` requests to each target, in ``BLOCKS`` runs taking turns; p50/p99 in ms.

    Each target gets a run of consecutive requests, then the other, the order turned at
    every round, so both see the same drift of the machine. Runs, not single requests taking
    turns: each server then answers from the caches of the core it ran on last, as it would
    alone, where a request of the other server in between would have emptied them (the
    Oxigraph server's cheap answers took 0.23 ms so, against 0.16 ms alone).

    ``regime`` "warm" repeats request 0; "distinct" uses request numbers ``first``,
    ``first + 1``, ... so no two requests (and no earlier phase) share a query text; both
    targets are sent the same texts. With ``budget_s``, a target is sent no more once its
    requests have taken that many seconds (slow queries at scale): each its own budget, so
    the first to take its turn cannot spend the other's.
    """
    clients = {t.name: Client(t) for t in targets}
    budget = budget_s or math.inf
    spent = {t.name: 0.0 for t in targets}
    times: dict[str, list[float]] = {t.name: [] for t in targets}
    errors: dict[str, dict[str, int]] = {t.name: {} for t in targets}
    try:
        for block, numbers in enumerate(_blocks(n, BLOCKS)):
            for t in targets if block % 2 == 0 else targets[::-1]:
                for k in numbers:
                    if spent[t.name] > budget:
                        break
                    i = 0 if regime == "warm" else first + k
                    started = time.perf_counter()
                    reply = clients[t.name].get(query.path(t.name, pool, i), query.accept)
                    spent[t.name] += time.perf_counter() - started
                    if reply.status == 200:
                        times[t.name].append(reply.seconds)
                    else:
                        _count(errors[t.name], reply.status)
    finally:
        for c in clients.values():
            c.close()
    return {name: _latency(values, errors[name], clients[name].connections)
            for name, values in times.items()}


def _blocks(n: int, count: int) -> list[Sequence[int]]:
    """``range(n)`` cut into ``count`` consecutive runs as equal as can be, none empty."""
    return [run for run in consecutive_runs(range(n), count) if run]


def _count(statuses: dict[str, int], status: int) -> None:
    """Count one failed request by its status (0: no HTTP answer at all)."""
    statuses[str(status)] = statuses.get(str(status), 0) + 1


def _latency(values: list[float], errors: dict[str, int], connections: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(values), "errors": sum(errors.values()),
                           "error_statuses": errors, "connections": connections}
    if values:
        out["p50_ms"] = round(percentile(values, 0.50) * 1000, 3)
        out["p99_ms"] = round(percentile(values, 0.99) * 1000, 3)
    return out


# ---- throughput -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """What a load process runs: a query against a target until ``deadline`` (wall clock)."""

    target: Target
    query: Query
    regime: str
    start: float
    deadline: float
    #: first request number of this process, so processes never send the same variant
    first: int


def _load_worker(pipe: Connection, pool: Pool) -> None:
    """A client process: say it is ready, then run jobs received on ``pipe``, answer
    (ok, errors) for each."""
    pipe.send("ready")
    while True:
        job = pipe.recv()
        if job is None:
            return
        pipe.send(_run_job(job, pool))


def _run_job(job: Job, pool: Pool) -> tuple[int, dict[str, int]]:
    client = Client(job.target)
    ok, errors = 0, {}
    i = job.first
    try:
        while time.time() < job.start:
            time.sleep(0.001)
        while time.time() < job.deadline:
            number = 0 if job.regime == "warm" else i
            reply = client.get(job.query.path(job.target.name, pool, number), job.query.accept)
            i += 1
            if reply.status == 200:
                ok += 1
            else:
                _count(errors, reply.status)
    finally:
        client.close()
    return ok, errors


class LoadPool:
    """``size`` client processes, started once and given one job at a time."""

    def __init__(self, size: int, pool: Pool) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(size):
            parent, child = context.Pipe()
            proc = context.Process(target=_load_worker, args=(child, pool), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)
        # a job's time starts when it is sent: a process still starting would miss its share
        for pipe in self.pipes:
            if pipe.recv() != "ready":
                raise RuntimeError("a load client did not start")

    def run(self, target: Target, query: Query, regime: str, seconds: float,
            first: int) -> dict[str, Any]:
        """Every process on ``target`` for ``seconds``; requests per second and errors."""
        start = time.time() + 0.05
        for k, pipe in enumerate(self.pipes):
            pipe.send(Job(target, query, regime, start, start + seconds, first + k * 1_000_000))
        results = [pipe.recv() for pipe in self.pipes]
        ok, statuses = sum(r[0] for r in results), {}
        for _, errors in results:
            for status, count in errors.items():
                statuses[status] = statuses.get(status, 0) + count
        return {"requests": ok, "errors": sum(statuses.values()), "error_statuses": statuses,
                "seconds": seconds, "rps": round(ok / seconds, 1)}

    def close(self) -> None:
        """Stop and join every process."""
        for pipe in self.pipes:
            pipe.send(None)
            pipe.close()
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
            proc.close()
