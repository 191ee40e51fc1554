"""The scale part: load, serve and query growing data on both servers.

Each dataset is loaded beside the release (``hodo load FILE --store DIR`` against ``oxigraph
load`` of the same file into a named graph plus ``dist/hodo.nq``), then served (``hodo serve
--store DIR`` against ``oxigraph serve``) and asked the SPARQL mix with answers capped at
1,000 rows, in the distinct regime: latency p50 and whether each query was answered within 1 s.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import answers, datasets, servers
from bench.client import Client, Target, sequential
from bench.measure import Numbers, Settings, geomean, log
from bench.queries import Pool, Query, sparql_mix

CACHE = servers.ROOT / ".cache" / "bench"
GRAPH = "https://w3id.org/hodo/graph/bench"
#: seconds of sequential requests per query and server at one scale
BUDGET_S = 5.0


def measure_scale(powers: list[int], real: list[str], dist: Path, settings: Settings,
                  logs: Path, quick: bool) -> dict[str, Any]:
    """Every dataset asked for; and how cost grows with the number of triples."""
    results = []
    for power in powers:
        log(f"scale 1e{power}: generating")
        path, triples, pool = datasets.generated(power, CACHE / "data")
        results.append(measure_dataset(f"generated 1e{power}", path, triples, pool, dist,
                                       settings, logs, quick))
    for name in real:
        log(f"scale {name}: converting")
        path, triples, pool = datasets.real(name, CACHE / "data", CACHE.parent / "wheels")
        results.append(measure_dataset(name, path, triples, pool, dist, settings, logs, quick))
    generated = [d for d in results if d["name"].startswith("generated")]
    return {"datasets": results, "growth": growth(generated), "budget_s": BUDGET_S}


def measure_dataset(name: str, path: Path, triples: int, pool: Pool, dist: Path,
                    settings: Settings, logs: Path, quick: bool) -> dict[str, Any]:
    """Load, disk, memory and latency of one dataset on both servers."""
    slug = name.replace(" ", "-")
    ox_dir, hodo_dir = CACHE / "stores" / f"{slug}-oxigraph", CACHE / "stores" / f"{slug}-hodo"
    for folder in (ox_dir, hodo_dir):
        shutil.rmtree(folder, ignore_errors=True)
    ox_dir.parent.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"name": name, "triples": triples, "file_mib": _mib(path),
                           "hodo": {}, "oxigraph": {}}
    log(f"{name}: oxigraph load ({triples:,} triples)")
    row["oxigraph"]["load_s"] = servers.oxigraph_load(
        ox_dir, [(path, GRAPH), (dist / "hodo.nq", None)], logs / "oxigraph.log")
    log(f"{name}: hodo load")
    row["hodo"].update(load_hodo(path, hodo_dir, dist, logs))
    running = _start(row, ox_dir, hodo_dir, dist, settings, logs)
    try:
        _query(row, running, pool, settings, quick)
        for server in running:
            row[server.name]["pss_mib"] = server.pss_mib()
    finally:
        for server in running:
            server.stop()
    # on disk as served: the Oxigraph server opens its store for writing and RocksDB compacts
    # it then, where `hodo load` compacts before it is served (read-only)
    for key, folder in (("oxigraph", ox_dir), ("hodo", hodo_dir)):
        if "unavailable" not in row[key]:
            row[key]["disk_mib"] = servers.disk_mib(folder)
    log(f"{name}: " + "  ".join(f"{k} {row[k].get('p50_geomean_ms')} ms p50"
                                for k in ("hodo", "oxigraph")))
    return row


def load_hodo(path: Path, store: Path, dist: Path, logs: Path) -> dict[str, Any]:
    """``hodo load``'s time and disk; why not, when the command fails."""
    try:
        seconds = servers.hodo_load([path], store, dist, logs / "hodo-load.log")
    except subprocess.CalledProcessError:
        lines = (logs / "hodo-load.log").read_text(encoding="utf-8").strip().splitlines()
        return {"unavailable": f"`hodo load` failed: {lines[-1] if lines else 'no message'}"}
    return {"load_s": seconds, "disk_mib": servers.disk_mib(store)}


def _start(row: dict[str, Any], ox_dir: Path, hodo_dir: Path, dist: Path, settings: Settings,
           logs: Path) -> list[servers.Server]:
    running = [servers.start_oxigraph(ox_dir, logs / "oxigraph.log")]
    row["oxigraph"]["startup_s"] = running[0].startup_s
    if "unavailable" not in row["hodo"]:
        try:
            hodo = servers.start_hodo(dist, settings.workers, logs / "hodo.log", hodo_dir)
        except RuntimeError as error:
            row["hodo"]["unavailable"] = f"`hodo serve --store` failed: {error}"
        else:
            row["hodo"]["startup_s"] = hodo.startup_s
            running.insert(0, hodo)
    return running


def _query(row: dict[str, Any], running: list[servers.Server], pool: Pool, settings: Settings,
           quick: bool) -> None:
    targets = [s.target for s in running]
    numbers = Numbers()
    per_query: dict[str, Any] = {}
    for query in sparql_mix():
        check = answers.compare(targets, query, pool, [0], timeout=120)
        within = {t.name: _within_1s(t, query, pool, numbers.take(1)) for t in targets}
        count = max(3, settings.requests // (8 if quick else 4))
        latency = sequential(targets, query, pool, "distinct", count, numbers.take(count),
                             budget_s=BUDGET_S)
        per_query[query.name] = {"answers": check, "within_1s": within, "latency": latency}
    row["queries"] = per_query
    names = [t.name for t in targets]
    for name, value in common_geomeans(per_query, names).items():
        row[name]["p50_geomean_ms"] = value
        row[name]["within_1s"] = {q: v["within_1s"][name] for q, v in per_query.items()}


def common_geomeans(per_query: dict[str, Any], names: list[str]) -> dict[str, float | None]:
    """Each server's geometric mean of p50 over the queries every server answered: a query one
    of them refused (its deadline) or never got to would make the two means of different
    queries."""
    shared = [q["latency"] for q in per_query.values()
              if all(q["latency"][name].get("p50_ms") is not None for name in names)]
    return {name: geomean([latency[name]["p50_ms"] for latency in shared]) for name in names}


def _within_1s(target: Target, query: Query, pool: Pool, number: int) -> bool:
    """Whether a fresh variant of ``query`` was answered (200) within one second."""
    client = Client(target, timeout=120)
    try:
        reply = client.get(query.path(target.name, pool, number), query.accept)
    finally:
        client.close()
    return reply.status == 200 and reply.seconds < 1.0


def growth(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Least-squares slope of log(cost) on log(triples): cost grows as N to that power."""
    out: dict[str, dict[str, float | None]] = {}
    for server in ("hodo", "oxigraph"):
        out[server] = {}
        for metric in ("load_s", "disk_mib", "pss_mib", "p50_geomean_ms"):
            points = [(math.log(r["triples"]), math.log(r[server][metric])) for r in rows
                      if r[server].get(metric)]
            out[server][metric] = _slope(points)
    return out


def _slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / var, 2) if var else None


def _mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1)
