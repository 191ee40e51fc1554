"""Behind a reverse proxy: HODO through nginx (deploy/nginx), with one node and with two.

Two ``hodo serve`` nodes (``HODO_TRUSTED_PROXIES=1``, the rate limit out of reach as in the
release part) and two nginx, one in front of the first node and one in front of both, run at
once; each request and regime goes through the three ways to HODO in turn (the first node
directly, nginx and one node, nginx and two), with the same client load. Each nginx starts
with an empty cache. Warm requests repeat one request, so nginx answers
them from its cache after the first; distinct ones are new to every cache and reach a node.
Which share came from nginx's cache is read from its access log (``cache=HIT``).
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import servers
from bench.client import LoadPool, Target, sequential
from bench.measure import REGIMES, Numbers, Settings, log
from bench.queries import Pool, Query, hodo_only, sparql_mix
from bench.release import release_pool

LAUNCHER = servers.ROOT / "deploy" / "nginx" / "proxy.py"
#: (how the client reaches HODO, nodes): the first is the baseline without a proxy
CONFIGS = (("direct", 1), ("nginx", 1), ("nginx", 2))
QUERIES = ("label-en", "term-page", "api-search")
NODE_ENV = {"HODO_TRUSTED_PROXIES": "1", **servers.RATE_ENV}


def measure_proxy(dist: Path, settings: Settings, logs: Path) -> dict[str, Any]:
    """Every configuration on each request and regime, one after the other; the JSON's
    ``proxy`` section."""
    pool = release_pool(dist)
    mix = [q for q in sparql_mix() + hodo_only() if q.name in QUERIES]
    numbers = Numbers(start=80_000_000)
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        nodes = [stack.enter_context(node(dist, settings.workers, logs)) for _ in range(2)]
        ways = {config: stack.enter_context(reach(config, nodes, logs)) for config in CONFIGS}
        loader = LoadPool(settings.clients, pool)
        stack.callback(loader.close)
        # the client processes, just spawned, are ready before the first figure counts
        loader.run(nodes[0].target, mix[0], "warm", 0.5, numbers.take(1))
        for query in mix:
            for regime in REGIMES:
                rows += _measure_row(ways, query, regime, pool, settings, numbers, loader)
    return {"configs": [list(c) for c in CONFIGS], "queries": list(QUERIES),
            "workers": settings.workers, "nginx": nginx_version(), "rows": rows,
            "load": {"requests": settings.requests, "clients": settings.clients,
                     "duration": settings.duration, "rounds": settings.rounds},
            "loadavg": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                         cwd=servers.ROOT, capture_output=True, text=True,
                                         check=False).stdout.strip()}


@contextmanager
def node(dist: Path, workers: int, logs: Path) -> Iterator[servers.Server]:
    """A ``hodo serve`` node, for the length of a ``with`` block."""
    log("proxy: starting a hodo serve node")
    started = start_node(dist, workers, logs / "hodo-proxy.log")
    try:
        yield started
    finally:
        started.stop()


def start_node(dist: Path, workers: int, log_file: Path) -> servers.Server:
    """``hodo serve`` as a node behind one proxy."""
    argv = [str(servers.HODO), "serve", "--dist", str(dist), "--port",
            str(servers.free_port()), "--workers", str(workers)]
    return servers._spawn("hodo", argv, log_file, NODE_ENV)


@contextmanager
def reach(config: tuple[str, int], nodes: list[servers.Server], logs: Path
          ) -> Iterator[tuple[Target, Path | None]]:
    """The target to send requests to, and nginx's access log when there is one."""
    via, count = config
    if via == "direct":
        yield nodes[0].target, None
        return
    with tempfile.TemporaryDirectory(prefix="hodo-bench-nginx-") as tmp:
        log(f"proxy: starting nginx in front of {count} node(s)")
        proxy = start_nginx(Path(tmp), nodes[:count], logs / "nginx.log")
        try:
            yield proxy.target, Path(tmp) / "logs" / "access.log"
        finally:
            proxy.stop()


def start_nginx(prefix: Path, nodes: list[servers.Server], log_file: Path) -> servers.Server:
    """``deploy/nginx/proxy.py run`` in front of ``nodes``, with its default workers and no
    per-client query limit: the benchmark is one address, as for the nodes' own limit."""
    port = servers.free_port()
    argv = [sys.executable, str(LAUNCHER), "run", "--prefix", str(prefix), "--listen",
            f"127.0.0.1:{port}", "--query-rate", "0"]
    argv += [arg for node in nodes for arg in ("--node", f"127.0.0.1:{node.target.port}")]
    started = time.perf_counter()
    with log_file.open("ab") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    # named "hodo": the requests are HODO's, whoever passes them on
    proxy = servers.Server("hodo", proc, Target("hodo", port))
    try:
        servers.wait_ready(proxy, started, 30)
    except BaseException:
        proxy.stop()
        raise
    return proxy


def nginx_version() -> str:
    """``nginx/1.22.1``, as ``nginx -v`` says it."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return done.stderr.strip().rsplit(" ", 1)[-1]


def _measure_row(ways: dict[tuple[str, int], tuple[Target, Path | None]], query: Query,
                 regime: str, pool: Pool, settings: Settings, numbers: Numbers,
                 loader: LoadPool) -> list[dict[str, Any]]:
    """One request in one regime through every configuration: latency one configuration after
    the other, then throughput in rounds alternating their order, so that a change in the
    machine's load falls on all of them; the share nginx answered from its cache."""
    for target, _ in ways.values():
        sequential([target], query, pool, "warm", settings.warmup, 0)
    offsets = {config: _size(access_log) for config, (_, access_log) in ways.items()}
    rows = {}
    for config, (target, _) in ways.items():
        latency = sequential([target], query, pool, regime, settings.requests,
                             numbers.take(settings.requests))["hodo"]
        rows[config] = {"via": config[0], "nodes": config[1], "query": query.name,
                        "regime": regime, "p50_ms": latency.get("p50_ms"),
                        "p99_ms": latency.get("p99_ms"), "errors": latency["errors"],
                        "requests": 0, "seconds": 0.0}
    order = list(ways)
    for r in range(settings.rounds):
        for config in order if r % 2 == 0 else order[::-1]:
            load = loader.run(ways[config][0], query, regime,
                              settings.duration / settings.rounds,
                              numbers.take(settings.clients * 1_000_000))
            rows[config]["requests"] += load["requests"]
            rows[config]["seconds"] += load["seconds"]
            rows[config]["errors"] += load["errors"]
    for config, row in rows.items():
        row["rps"] = round(row.pop("requests") / row.pop("seconds"), 1)
        row["hit_ratio"] = _hits(ways[config][1], offsets[config])
        log(f"  {query.name:12} {regime:8} {config[0]:6} {config[1]}: p50 {row['p50_ms']} ms "
            f"{row['rps']} req/s hits {row['hit_ratio']} err {row['errors']}")
    return list(rows.values())


def _size(path: Path | None) -> int:
    return path.stat().st_size if path and path.exists() else 0


def _hits(access_log: Path | None, offset: int) -> float | None:
    """The share of requests logged since ``offset`` that nginx answered from its cache."""
    if access_log is None:
        return None
    with access_log.open("rb") as lines:
        lines.seek(offset)
        statuses = [line.split(b" cache=", 1)[1].split(b" ", 1)[0]
                    for line in lines if b" cache=" in line]
    return round(statuses.count(b"HIT") / len(statuses), 3) if statuses else None


# ---- the docs block ---------------------------------------------------------------------------

def section(proxy: dict[str, Any]) -> str:
    """The Markdown of the ``proxy`` section (``bench.report`` places it)."""
    lines = ["| via | nodes | request | regime | p50 / p99 ms | req/s | from nginx's cache |",
             "|---|---|---|---|---|---|---|"]
    for row in proxy["rows"]:
        hits = "–" if row["hit_ratio"] is None else f"{row['hit_ratio']:.0%}"
        lines.append(f"| {row['via']} | {row['nodes']} | {row['query']} | {row['regime']} | "
                     f"{_ms(row['p50_ms'])} / {_ms(row['p99_ms'])} | {row['rps']:,.0f} | "
                     f"{hits} |")
    errors = sum(row["errors"] for row in proxy["rows"])
    load = proxy["load"]
    quick = " **A `--quick` run: the numbers are not measurements.**" if proxy.get(
        "quick") else ""
    return (f"**Behind a reverse proxy** ({proxy['date']}, commit `{proxy['git_commit']}`, "
            f"`python -m bench --proxy`).{quick} {proxy['nginx']} as "
            "[deployed](deployment.md) (`deploy/nginx/hodo.conf`, one nginx worker per core, "
            "its per-client query limit off, as the nodes' is raised, since the benchmark is "
            "one address) in "
            f"front of one and two `hodo serve --workers {proxy['workers']}` nodes, against "
            f"one node asked directly: {load['requests']} sequential requests per request "
            f"and regime for latency, {load['clients']} client processes for "
            f"{load['duration']:g} s for throughput, in {load['rounds']} rounds alternating "
            "the three. Each "
            "nginx starts with an empty cache; the last column is the share of requests it "
            "answered from it, by its access log. Nodes, nginx and the client processes share "
            "this machine's cores, so a second node adds no cores: this measures what the "
            "proxy costs and what its cache saves, not how far more machines go; the "
            "machine's load average (one minute) was "
            f"{proxy['loadavg'][0]:g} as the run began and {proxy['loadavg'][1]:g} as it "
            f"ended. On a machine so loaded, req/s can change by half from one run to the "
            "next; the p50 of each row, measured in a few seconds, is steadier. Errors: "
            f"{errors}.\n\n" + "\n".join(lines))


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"
