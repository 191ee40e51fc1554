"""The release part: both servers on dist/, the mix in two regimes, start-up and memory."""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import answers, servers
from bench.client import LoadPool, Target, sequential
from bench.queries import Pool, Query, hodo_only, sparql_mix
from bench.release import release_pool

REGIMES = ("warm", "distinct")


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    requests: int = 200
    duration: float = 4.0
    rounds: int = 2
    clients: int = 4
    workers: int = 2
    warmup: int = 10


class Numbers:
    """Request numbers never handed out twice, so a distinct request is new to every cache."""

    def __init__(self, start: int = 10) -> None:
        self.next = start

    def take(self, count: int) -> int:
        """The first of ``count`` fresh numbers."""
        first, self.next = self.next, self.next + count
        return first


def log(message: str) -> None:
    """Progress, to stderr."""
    print(message, file=sys.stderr, flush=True)


def ratio(hodo: float | None, oxigraph: float | None) -> float | None:
    """HODO / Oxigraph, or None when either is missing or zero."""
    if not hodo or not oxigraph:
        return None
    return round(hodo / oxigraph, 3)


def geomean(values: list[float | None]) -> float | None:
    """Geometric mean of the values that exist."""
    present = [v for v in values if v]
    if not present:
        return None
    return round(math.exp(sum(math.log(v) for v in present) / len(present)), 3)


def measure_release(dist: Path, settings: Settings, logs: Path, hodo_only_too: bool = True
                    ) -> dict[str, Any]:
    """Everything of the release part, as the JSON's ``release`` section; without
    ``hodo_only_too``, the SPARQL queries both servers answer only."""
    pool = release_pool(dist)
    mix = sparql_mix() + (hodo_only() if hodo_only_too else [])
    with tempfile.TemporaryDirectory(prefix="hodo-bench-") as tmp:
        store = Path(tmp) / "oxigraph"
        log("oxigraph load dist/hodo.nq")
        load_s = servers.oxigraph_load(store, [(dist / "hodo.nq", None)], logs / "oxigraph.log")
        log("starting hodo serve")
        hodo = servers.start_hodo(dist, settings.workers, logs / "hodo.log")
        try:
            log("starting oxigraph serve")
            oxi = servers.start_oxigraph(store, logs / "oxigraph.log")
            try:
                result = _measure_running(hodo, oxi, pool, mix, settings)
            finally:
                oxi.stop()
        finally:
            hodo.stop()
    result["servers"]["oxigraph"]["load_s"] = load_s
    result["pool"] = {"terms": len(pool.terms), "pages": len(pool.pages),
                      "words": len(pool.words), "prefixes": len(pool.prefixes)}
    return result


def _measure_running(hodo: servers.Server, oxi: servers.Server, pool: Pool, mix: list[Query],
                     settings: Settings) -> dict[str, Any]:
    both = [hodo.target, oxi.target]
    checks = {q.name: answers.compare(both, q, pool, [0, 1, 2]) for q in mix if q.both}
    for name, check in checks.items():
        log(f"answers {name}: {check['rows']}" + ("" if check["match"] else "  MISMATCH"))
    _warm_up(both, mix, pool, settings.warmup)
    info: dict[str, dict[str, Any]] = {
        s.name: {"startup_s": s.startup_s, "processes": s.processes(),
                 "pss_mib": {"after_warmup": s.pss_mib()}} for s in (hodo, oxi)}
    numbers = Numbers()
    loader = LoadPool(settings.clients, pool)
    try:
        rows = [_measure_query(q, both, pool, settings, numbers, loader, checks.get(q.name))
                for q in mix]
    finally:
        loader.close()
    for s in (hodo, oxi):
        info[s.name]["pss_mib"]["after_load"] = s.pss_mib()
        info[s.name]["processes_after_load"] = s.processes()
    means = {regime: {
        "p50": geomean([q["regimes"][regime]["ratio_p50"] for q in rows if q["both"]]),
        "rps": geomean([q["regimes"][regime]["ratio_rps"] for q in rows if q["both"]]),
    } for regime in REGIMES}
    return {"servers": info, "queries": rows, "geomean": means}


def _warm_up(targets: list[Target], mix: list[Query], pool: Pool, count: int) -> None:
    log("warm-up")
    for query in mix:
        sequential(targets if query.both else targets[:1], query, pool, "warm", count, 0)


def _measure_query(query: Query, targets: list[Target], pool: Pool, settings: Settings,
                   numbers: Numbers, loader: LoadPool, check: dict[str, Any] | None
                   ) -> dict[str, Any]:
    targets = targets if query.both else targets[:1]
    regimes = {}
    for regime in REGIMES:
        first = numbers.take(settings.requests)
        latency = sequential(targets, query, pool, regime, settings.requests, first)
        throughput = _throughput(targets, query, regime, settings, numbers, loader)
        per_server = {t.name: _server_row(latency[t.name], throughput[t.name]) for t in targets}
        regimes[regime] = {**per_server, **_ratios(per_server)}
        log(f"{query.name:14} {regime:8} " + "  ".join(
            f"{name} p50 {row.get('p50_ms')} ms {row['rps']} req/s err {row['errors']}"
            for name, row in per_server.items()))
    return {"name": query.name, "title": query.title, "form": query.form if query.both else
            query.kind, "both": query.both, "answers": check, "regimes": regimes}


def _throughput(targets: list[Target], query: Query, regime: str, settings: Settings,
                numbers: Numbers, loader: LoadPool) -> dict[str, dict[str, Any]]:
    """Rounds alternating between servers, so drift of the machine falls on both."""
    seconds = settings.duration / settings.rounds
    totals: dict[str, dict[str, Any]] = {
        t.name: {"requests": 0, "errors": 0, "seconds": 0.0, "error_statuses": {}}
        for t in targets}
    for r in range(settings.rounds):
        first = numbers.take(settings.clients * 1_000_000)
        order = targets if r % 2 == 0 else targets[::-1]
        for target in order:
            out = loader.run(target, query, regime, seconds, first)
            for key in ("requests", "errors", "seconds"):
                totals[target.name][key] += out[key]
            statuses = totals[target.name]["error_statuses"]
            for status, count in out["error_statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
    return totals


def _server_row(latency: dict[str, Any], throughput: dict[str, Any]) -> dict[str, Any]:
    rps = round(throughput["requests"] / throughput["seconds"], 1)
    return {**{k: v for k, v in latency.items() if k != "errors"}, "rps": rps,
            "throughput_requests": throughput["requests"],
            "sequential_errors": latency["errors"], "throughput_errors": throughput["errors"],
            "throughput_error_statuses": throughput["error_statuses"],
            "errors": latency["errors"] + throughput["errors"]}


def _ratios(per_server: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    if "oxigraph" not in per_server:
        return {"ratio_p50": None, "ratio_p99": None, "ratio_rps": None}
    h, o = per_server["hodo"], per_server["oxigraph"]
    return {"ratio_p50": ratio(h.get("p50_ms"), o.get("p50_ms")),
            "ratio_p99": ratio(h.get("p99_ms"), o.get("p99_ms")),
            "ratio_rps": ratio(h["rps"], o["rps"])}
