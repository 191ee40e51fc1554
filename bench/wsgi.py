"""Which HTTP server and how many web workers: HODO alone, under each choice, on one mix.

The choice of ``hodo serve``'s defaults rests on these figures: a cheap SPARQL lookup (where
the server's own cost shows most), a term page and the search API, warm and distinct, with
sequential latency, throughput under the same client load, and memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import servers
from bench.client import LoadPool, sequential
from bench.measure import REGIMES, Numbers, Settings, log
from bench.queries import hodo_only, sparql_mix
from bench.release import release_pool

#: (server, web workers) pairs compared; the first is ``hodo serve``'s default.
CHOICES = (("granian", 2), ("granian", 1), ("granian", 4), ("gunicorn", 2), ("gunicorn", 4))
QUERIES = ("label-en", "term-page", "api-search")


def measure_wsgi(dist: Path, settings: Settings, logs: Path) -> dict[str, Any]:
    """Each choice in turn, the same requests to each; the JSON's ``wsgi`` section."""
    pool = release_pool(dist)
    mix = [q for q in sparql_mix() + hodo_only() if q.name in QUERIES]
    numbers = Numbers(start=50_000_000)
    rows = []
    for server, workers in CHOICES:
        log(f"wsgi: {server} with {workers} web workers")
        hodo = servers.start_hodo(dist, workers, logs / "hodo.log", server=server)
        loader = LoadPool(settings.clients, pool)
        try:
            for query in mix:
                sequential([hodo.target], query, pool, "warm", settings.warmup, 0)
                for regime in REGIMES:
                    first = numbers.take(settings.requests)
                    latency = sequential([hodo.target], query, pool, regime, settings.requests,
                                         first)["hodo"]
                    load = loader.run(hodo.target, query, regime, settings.duration,
                                      numbers.take(settings.clients * 1_000_000))
                    rows.append({"server": server, "workers": workers, "query": query.name,
                                 "regime": regime, "p50_ms": latency.get("p50_ms"),
                                 "p99_ms": latency.get("p99_ms"), "rps": load["rps"],
                                 "errors": latency["errors"] + load["errors"]})
            pss = hodo.pss_mib()
        finally:
            loader.close()
            hodo.stop()
        for row in rows:
            if row["server"] == server and row["workers"] == workers:
                row["pss_mib"] = pss
    return {"choices": [list(c) for c in CHOICES], "queries": list(QUERIES), "rows": rows}
