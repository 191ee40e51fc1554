"""Start, probe, measure and stop the two servers, each in its own process group.

HODO runs as users run it (``hodo serve``: Granian, query worker processes, every limit on);
its per-address rate limit is raised out of reach, because the benchmark is one address
sending thousands of requests a second: the limiter still runs on every request, it never
refuses. Oxigraph runs ``oxigraph serve --union-default-graph`` on a store loaded from the same
N-Quads, so that both read the union of the named graphs as the default graph.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench.client import Client, Target

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HODO = BIN / "hodo"
OXIGRAPH = BIN / "oxigraph"
PROBE = "ASK {}"
#: out of reach of the benchmark's one client address; the limiter still runs
RATE_ENV = {"HODO_RATE_LIMIT": "1000000000", "HODO_RATE_BURST": "1000000000"}


@dataclass
class Server:
    """A running server: its process, target and seconds from spawn to first answer."""

    name: str
    proc: subprocess.Popen[bytes]
    target: Target
    startup_s: float = 0.0

    def pss_mib(self) -> float:
        """PSS summed over the server's whole process tree, in MiB."""
        return round(sum(pss_kib(pid) for pid in process_tree(self.proc.pid)) / 1024, 1)

    def processes(self) -> int:
        """How many processes the tree has."""
        return len(process_tree(self.proc.pid))

    def stop(self) -> None:
        """SIGTERM (the server stops its workers), then SIGKILL the group if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # query workers left in the group
            os.killpg(self.proc.pid, signal.SIGKILL)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (0 if it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_ready(server: Server, started: float, timeout: float) -> None:
    """Poll until the server answers a query; record the start-up time."""
    path = ("/sparql?" if server.name == "hodo" else "/query?") + urllib.parse.urlencode(
        {"query": PROBE})
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode} at start-up")
        client = Client(server.target, timeout=2)
        reply = client.get(path, "application/sparql-results+json")
        client.close()
        if reply.status == 200:
            server.startup_s = round(time.perf_counter() - started, 3)
            return
        time.sleep(0.01)
    raise RuntimeError(f"{server.name} did not answer within {timeout} s")


def _spawn(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
           timeout: float = 300) -> Server:
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else \
        int(argv[argv.index("--bind") + 1].rsplit(":", 1)[1])
    started = time.perf_counter()
    with log.open("ab") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env={**os.environ, **(env or {})}, start_new_session=True)
    server = Server(name, proc, Target(name, port))
    try:
        wait_ready(server, started, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_hodo(dist: Path, workers: int, log: Path, store: Path | None = None,
               server: str | None = None) -> Server:
    """``hodo serve`` on a free port, from the release (or an on-disk store beside it), under
    its default HTTP server or the one named."""
    argv = [str(HODO), "serve", "--dist", str(dist), "--port", str(free_port()),
            "--workers", str(workers)]
    if server:
        argv += ["--server", server]
    if store:
        argv += ["--store", str(store)]
    return _spawn("hodo", argv, log, RATE_ENV)


def start_oxigraph(location: Path, log: Path) -> Server:
    """``oxigraph serve`` on a loaded store, the union of its graphs as default graph."""
    argv = [str(OXIGRAPH), "serve", "--location", str(location), "--bind",
            f"127.0.0.1:{free_port()}", "--union-default-graph"]
    return _spawn("oxigraph", argv, log)


def oxigraph_load(location: Path, files: list[tuple[Path, str | None]], log: Path) -> float:
    """``oxigraph load`` each (file, graph) into ``location``; seconds taken."""
    started = time.perf_counter()
    for path, graph in files:
        argv = [str(OXIGRAPH), "load", "--location", str(location), "--file", str(path)]
        if graph:
            argv += ["--graph", graph]
        with log.open("ab") as err:
            subprocess.run(argv, check=True, stdout=err, stderr=err)
    return round(time.perf_counter() - started, 3)


def hodo_load(files: list[Path], store: Path, dist: Path, log: Path) -> float:
    """``hodo load FILES --store DIR``; seconds taken (raises CalledProcessError on failure)."""
    started = time.perf_counter()
    argv = [str(HODO), "load", *map(str, files), "--store", str(store), "--dist", str(dist),
            "--replace"]
    with log.open("ab") as err:
        subprocess.run(argv, check=True, stdout=err, stderr=err)
    return round(time.perf_counter() - started, 3)


def disk_mib(path: Path) -> float:
    """Bytes under ``path``, in MiB."""
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 1)
