"""Faults as an operator meets them, each through a real ``hodo serve`` or ``hodo load``
process on loopback: a query worker killed mid-query or crashing again and again, a release
or store damaged before start-up, the remote SPARQL server down or stalled, the disk full
while loading, the main process killed, a port already in use, a spawner that stops
answering. HODO must go on serving what it can, fail with one clear line (or page) that
says what is wrong, and lose nothing: the data served and the stores on disk are unchanged.

Every wait polls under a deadline; time bounds are there only so that a hang fails.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hodo.engine.remote import publish_release
from hodo.engine.store import EXTERNAL_GRAPHS, MANIFEST, Release, load_files
from hodo.engine.workers import (
    QUERY_WORKER_NAME,
    SPAWNER_NAME,
    PoolSettings,
    Unavailable,
    WorkerPool,
)
from hodo.web.wsgi import ListenError, claim_port
from tests.support.integrity import data_hash, file_hashes
from tests.support.net import Listener, free_port
from tests.support.net import reply as answer
from tests.support.queries import BOMB, FAST
from tests.support.server import (
    HODO_CLI,
    Reply,
    Server,
    alive,
    descendants,
    oxigraph_server,
    poll,
    serving,
)
from tests.terms import HODO

pytestmark = [pytest.mark.server, pytest.mark.slow]

#: About 10^11 rows to count on the release: it never ends by itself, so a worker that is
#: seen working on it is surely mid-query when it is killed.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
#: Triples per graph: a small answer that still depends on every quad.
GRAPH_COUNTS = ('SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER("{nonce}" '
                '!= "") }} GROUP BY ?g')
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
#: Bound on anything that should be quick: a hang fails the test instead of stalling the run.
BOUND = 30.0
_nonces = iter(range(1, 10**9))


# --------------------------------------------------------------------------------------------
# Helpers


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first); None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_ticks(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def _live(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _parent(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[1])


def _web_workers(server: Server) -> set[int]:
    """The live web workers: the server's own children."""
    return {pid for pid in descendants(server.process.pid)
            if _live(pid) and _parent(pid) == server.process.pid}


def _query_workers(server: Server) -> set[int]:
    """The live query workers below the server (forked by a web worker or by its spawner)."""
    return {pid for pid in descendants(server.process.pid)
            if _live(pid) and _comm(pid) == QUERY_WORKER_NAME}


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _metric(server: Server, name: str) -> float:
    for line in server.request("GET", "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name}")


def _graph_counts(server: Server) -> dict[str, int]:
    """Triples per graph, asked with a fresh constant so that no cache answers."""
    reply = server.query(GRAPH_COUNTS.format(nonce=next(_nonces)))
    assert reply.status == 200, reply.text[:300]
    rows = json.loads(reply.body)["results"]["bindings"]
    return {row["g"]["value"]: int(row["n"]["value"]) for row in rows}


def _is_short_error(reply: Reply, status: int, media_type: str = "text/plain") -> None:
    """The documented error shape: this status, one line of text (or a page), no traceback."""
    assert reply.status == status, (reply.status, reply.text[:300])
    assert reply.headers.get("content-type", "").startswith(media_type), reply.headers
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    if media_type == "text/plain":
        assert len(reply.text.strip().splitlines()) == 1, reply.text


def _kill_mid_query(server: Server, meanwhile: Callable[[], object] | None = None
                    ) -> tuple[Reply, int]:
    """Send ENDLESS, wait until a query worker is seen computing it, SIGKILL that worker
    (then call ``meanwhile``, while the query is still being answered); the query's reply
    and the killed worker's pid."""
    replies: list[Reply] = []
    idle = {pid: _cpu_ticks(pid) or 0 for pid in _query_workers(server)}
    thread = threading.Thread(target=lambda: replies.append(server.query(ENDLESS, timeout=60)))
    thread.start()
    try:
        def busy() -> int | None:
            # a worker that has used 0.2 s of CPU since the query was sent is running it
            return next((pid for pid in _query_workers(server)
                         if (_cpu_ticks(pid) or 0) - idle.get(pid, 0) >= 20), None)

        pid = poll(busy, "a query worker running the query")
        os.kill(pid, signal.SIGKILL)
        if meanwhile is not None:
            meanwhile()
    finally:
        thread.join(timeout=BOUND)
    assert replies, "no reply to the query whose worker was killed"
    return replies[0], pid


#: the workers_server's web workers, and query workers (request threads) of each
WEB_WORKERS, QUERY_WORKERS = 2, 2


def _all_query_workers(server: Server) -> set[int] | None:
    found = _query_workers(server)
    return found if len(found) == WEB_WORKERS * QUERY_WORKERS else None


def _spawners(server: Server) -> set[int]:
    """The live spawners: one a web worker that runs several request threads."""
    return {pid for pid in descendants(server.process.pid)
            if _live(pid) and _comm(pid) == SPAWNER_NAME}


def _serve_refused(release: Path, *args: str, port: int | None = None, **settings: str) -> str:
    """Run ``hodo serve`` that must refuse to start: its one-line message.

    It must exit 2 with one ``error:`` line on stderr and no traceback, well before BOUND (a
    server that started after all would be killed there, and fail the test), and leave no
    process behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODO_")}
    env |= {f"HODO_{k.upper()}": v for k, v in settings.items()}
    # a session of its own: a server that did start is stopped with everything it forked
    process = subprocess.Popen([str(HODO_CLI), "serve", "--port", str(port or free_port()),
                                "--dist", str(release), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"hodo serve {' '.join(args)} started instead of refusing") from None
    with suppress(ProcessLookupError):  # nothing of its process group is left
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"hodo serve {' '.join(args)} left a process behind")
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# --------------------------------------------------------------------------------------------
# 1, 2. Query workers killed, or crashing again and again


@pytest.fixture(scope="module")
def expected_counts(release: Release) -> dict[str, int]:
    """Triples per graph in the release, counted in this process."""
    solutions = release.store.query(GRAPH_COUNTS.format(nonce="local"))
    return {s["g"].value: int(s["n"].value) for s in solutions}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def workers_server(release_dir: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[Server, str]]:
    """Two web workers, each with two query workers (and request threads, so a spawner), a
    long deadline (only kills end the endless query) and a small memory cap; with the data
    hash as it started."""
    folder = tmp_path_factory.mktemp("workers")
    with serving(release_dir, folder / "server.log", workers=WEB_WORKERS, query_timeout="60",
                 query_memory_mb="128", query_workers=str(QUERY_WORKERS)) as server:
        poll(lambda: _all_query_workers(server), "every query worker forked")
        yield server, data_hash(server)


def test_a_worker_killed_mid_query_is_a_503_and_nothing_is_lost(
        workers_server: tuple[Server, str], expected_counts: dict[str, int]) -> None:
    """SIGKILL is what the kernel's out-of-memory killer, or an operator, sends: the query it
    interrupted is refused as documented, and the data and service are as they were."""
    server, started_hash = workers_server
    reply, killed = _kill_mid_query(server)
    _is_short_error(reply, 503)
    assert int(reply.headers["retry-after"]) >= 1
    assert "SIGKILL" in reply.text and "replaced" in reply.text
    health = server.request("GET", "/health")
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"
    assert _graph_counts(server) == expected_counts
    assert data_hash(server) == started_hash
    assert not _live(killed)
    poll(lambda: _all_query_workers(server), "the killed worker replaced")


def test_a_worker_that_crashes_again_and_again_is_replaced_each_time(
        workers_server: tuple[Server, str], expected_counts: dict[str, int]) -> None:
    """Killed three times mid-query, then over its memory cap three times: each a 503, the
    server answering between them, each crash counted, and no process or descriptor left
    over from the dead workers (a pool that leaked one per crash would run out)."""
    server, started_hash = workers_server
    crashes = 'hodo_query_worker_restarts_total{cause="crash"}'
    before = _metric(server, crashes)
    web = _web_workers(server)
    descriptors = {pid: len(os.listdir(f"/proc/{pid}/fd")) for pid in web}
    killed: set[int] = set()
    for _ in range(3):
        reply, pid = _kill_mid_query(server)
        _is_short_error(reply, 503)
        assert "SIGKILL" in reply.text
        assert pid not in killed
        killed.add(pid)
        assert server.request("GET", "/health").status == 200
        assert server.query(FAST).status == 200
    for _ in range(3):
        reply = server.query(BOMB)
        _is_short_error(reply, 503)
        assert "MiB" in reply.text and int(reply.headers["retry-after"]) >= 1
        assert server.query(FAST).status == 200
    assert _metric(server, crashes) == before + 6
    assert _web_workers(server) == web  # the web workers never died
    workers = poll(lambda: _all_query_workers(server), "every query worker live")
    assert not killed & workers
    # no zombie, no stray child: exactly the web workers, their spawners and query workers
    spawners = _spawners(server)
    assert len(spawners) == WEB_WORKERS
    assert descendants(server.process.pid) == web | spawners | workers
    for pid, count in descriptors.items():
        poll(lambda pid=pid, count=count: len(os.listdir(f"/proc/{pid}/fd")) <= count or None,
              f"web worker {pid} back to its {count} descriptors")
    assert _graph_counts(server) == expected_counts
    assert data_hash(server) == started_hash


def _wait_dead(pid: int) -> None:
    """Until ``pid`` is a zombie (dead, not yet reaped by its parent)."""
    poll(lambda: (_stat(pid) or ["Z"])[0] == "Z" or None, f"process {pid} dead")


def test_a_worker_that_dies_after_it_was_handed_a_query_is_a_crash_not_a_server_error(
        release: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window no real request can be timed to hit: the worker dies between the pool's
    liveness check and the query being written to it. The write fails (broken pipe); that
    is the same crash as any other, answered 503, and the next query gets a fresh worker."""
    pool = WorkerPool(release.store, PoolSettings(size=1))
    pool.start()
    try:
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)
        monkeypatch.setattr(pool, "_is_running", lambda child: True)  # checked just before
        with pytest.raises(Unavailable) as caught:
            pool.run(FAST, {"format_name": "json"})
        assert caught.value.reason == "crash" and "SIGKILL" in str(caught.value)
        monkeypatch.undo()
        assert b"true" in pool.run(FAST, {"format_name": "json"}).body
        assert pid not in pool.pids() and len(pool.pids()) == 1
    finally:
        pool.close()


def test_no_worker_can_be_forked_is_a_503_and_the_pool_fills_up_again(
        release: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of processes or memory, a crashed worker cannot be replaced at once: the query is
    answered 503 (not a server error), and the next query once fork works again gets one."""
    pool = WorkerPool(release.store, PoolSettings(size=1))
    pool.start()
    try:
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)

        def no_fork() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", no_fork)
        with pytest.raises(Unavailable) as caught:
            pool.run(FAST, {"format_name": "json"})
        assert "cannot start a query worker" in str(caught.value)
        assert pool.pids() == []
        monkeypatch.undo()
        assert b"true" in pool.run(FAST, {"format_name": "json"}).body
        assert len(pool.pids()) == 1
    finally:
        pool.close()


# --------------------------------------------------------------------------------------------
# 3. A damaged release or store at start-up


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _cut_after_the_version(path: Path) -> None:
    """Cut at a line boundary past the version statement: still valid N-Quads, and a
    version, but a fifth of the data gone."""
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) * 4 // 5) + 1
    assert b"<https://w3id.org/hodo/dataset> <http://purl.org/dc/terms/hasVersion>" in data[:cut]
    path.write_bytes(data[:cut])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 64] = bytes(range(192, 256))  # invalid UTF-8
    path.write_bytes(bytes(data))


def _unlink(path: Path) -> None:
    path.unlink()


def _replace_with_a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _drop_checksums(release: Path) -> None:
    (release / "SHA256SUMS").unlink()


RELEASE_FAULTS: dict[str, tuple[Callable[[Path], None], bool, str, str]] = {
    # name: (damage to hodo.nq, SHA256SUMS kept, file named, what the message says)
    "release-missing": (_unlink, True, "hodo.nq", "release file not found"),
    "release-a-folder": (_replace_with_a_folder, True, "hodo.nq", "release file not found"),
    "cut-in-half": (_cut_in_half, True, "hodo.nq", "does not match its SHA-256"),
    "cut-after-the-version": (_cut_after_the_version, True, "hodo.nq",
                              "does not match its SHA-256"),
    "garbled": (_garble, True, "hodo.nq", "does not match its SHA-256"),
    "emptied": (_empty, True, "hodo.nq", "does not match its SHA-256"),
    # without SHA256SUMS the parser or the version check still refuses it
    # the parser says "Unexpected end" or "Unexpected end of file", by where the cut falls
    "cut-in-half-unchecked": (_cut_in_half, False, "hodo.nq", "Unexpected end"),
    "garbled-unchecked": (_garble, False, "hodo.nq", "Invalid UTF-8"),
    "emptied-unchecked": (_empty, False, "hodo.nq", "not a HODO release"),
}


@pytest.fixture()
def release_copy(release_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(release_dir, tmp_path / "release"))


@pytest.mark.parametrize("fault", RELEASE_FAULTS)
def test_a_damaged_release_stops_serve_with_one_line_naming_the_file(release_copy: Path,
                                                                     fault: str) -> None:
    damage, checked, named, says = RELEASE_FAULTS[fault]
    if not checked:
        _drop_checksums(release_copy)
    damage(release_copy / "hodo.nq")
    message = _serve_refused(release_copy)
    assert f"{release_copy / named}:" in message and says in message, message


@pytest.mark.parametrize(("content", "says"), [
    (bytes(range(128, 256)) * 8, "cannot read the release's checksums"),
    (b"this is not a checksum list\n", "line 1 is not `<sha256>  <file>`"),
])
def test_a_damaged_checksum_list_stops_serve_naming_it(release_copy: Path, content: bytes,
                                                       says: str) -> None:
    (release_copy / "SHA256SUMS").write_bytes(content)
    message = _serve_refused(release_copy)
    assert f"{release_copy / 'SHA256SUMS'}:" in message and says in message, message


def _symlink_to_a_copy(path: Path) -> None:
    """The same bytes, through a symbolic link: the digest matches, the kind of file does not."""
    copy = path.parent.parent / f"elsewhere-{path.name}"
    shutil.copyfile(path, copy)
    path.unlink()
    path.symlink_to(copy)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


LISTED_FILE_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    # name: (damage to hodo.ttl, what the message says)
    "cut-in-half": (_cut_in_half, "does not match its SHA-256"),
    "emptied": (_empty, "does not match its SHA-256"),
    "garbled": (_garble, "does not match its SHA-256"),
    "missing": (_unlink, "listed in SHA256SUMS but missing"),
    "a-symlink": (_symlink_to_a_copy, "not a regular file (a symbolic link)"),
    "a-folder": (_replace_with_a_folder, "not a regular file (a folder)"),
    "a-fifo": (_fifo, "not a regular file (a FIFO)"),
}


@pytest.mark.parametrize("fault", LISTED_FILE_FAULTS)
def test_any_damaged_file_the_release_lists_stops_serve_naming_it(release_copy: Path,
                                                                  fault: str) -> None:
    """Every file SHA256SUMS lists is checked, not only hodo.nq: the server offers them all
    as downloads, so a truncated hodo.ttl would be served as the release. A FIFO must not
    hang the check."""
    damage, says = LISTED_FILE_FAULTS[fault]
    damage(release_copy / "hodo.ttl")
    message = _serve_refused(release_copy)
    assert f"{release_copy / 'hodo.ttl'}:" in message and says in message, message


def test_a_symlinked_release_file_is_refused_under_every_backend(release_copy: Path,
                                                                  small_store: Path) -> None:
    """The same check runs whichever store answers: here over an on-disk store."""
    _symlink_to_a_copy(release_copy / "hodo.owl")
    store = release_copy.parent / "store"
    shutil.copytree(small_store, store)
    message = _serve_refused(release_copy, "--store", str(store))
    assert f"{release_copy / 'hodo.owl'}:" in message and "symbolic link" in message, message


def test_a_release_without_a_checksum_list_is_served_unchecked(release_copy: Path,
                                                               tmp_path: Path) -> None:
    """A release assembled by hand has no SHA256SUMS: it is served, and whole."""
    _drop_checksums(release_copy)
    with serving(release_copy, tmp_path / "server.log", workers=1) as server:
        assert server.request("GET", "/health").status == 200
        assert server.query(FAST).status == 200


@pytest.fixture(scope="module")
def small_store(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete store: the release beside one small file."""
    folder = tmp_path_factory.mktemp("small-store")
    source = folder / "small.nt"
    source.write_text(f'<{HODO}example/small> <{LABEL}> "small and whole" .\n',
                      encoding="utf-8")
    load_files([source], folder / "store", dist=release_dir)
    return folder / "store"


def _garble_data_blocks(store: Path) -> None:
    """Overwrite the data part of every table file, keeping sizes and the footers: the store
    opens, but the first page read hits a block whose checksum fails."""
    for table in store.glob("*.sst"):
        data = bytearray(table.read_bytes())
        end = len(data) * 3 // 5
        data[1024:end] = b"\x5a" * max(0, end - 1024)
        table.write_bytes(bytes(data))


def _cut_tables(store: Path) -> None:
    for table in store.glob("*.sst"):
        _cut_in_half(table)


STORE_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (lambda store: shutil.rmtree(store), "no store here"),
    "not-a-store": (lambda store: (shutil.rmtree(store), store.mkdir(),
                                   (store / "notes.txt").write_text("mine")),
                    "not a complete store made by `hodo load`"),
    "manifest-garbled": (lambda store: (store / MANIFEST).write_bytes(b'{"format": 1, "fi'),
                         "not a complete store made by `hodo load`"),
    "current-deleted": (lambda store: (store / "CURRENT").unlink(), "damaged"),
    "rocksdb-manifest-emptied": (lambda store: [m.write_bytes(b"")
                                                for m in store.glob("MANIFEST-*")], "damaged"),
    "tables-cut-short": (_cut_tables, "damaged"),
    "data-blocks-garbled": (_garble_data_blocks, "damaged"),
}


@pytest.mark.parametrize("fault", STORE_FAULTS)
def test_a_damaged_store_stops_serve_with_one_line_naming_it(small_store: Path,
                                                             release_dir: Path,
                                                             tmp_path: Path, fault: str) -> None:
    store = Path(shutil.copytree(small_store, tmp_path / "store"))
    damage, says = STORE_FAULTS[fault]
    damage(store)
    message = _serve_refused(release_dir, "--store", str(store))
    assert message.startswith(f"error: {store}:") and says in message, message
    if says == "damaged":
        assert "run `hodo load --replace` again" in message


# --------------------------------------------------------------------------------------------
# 4. The remote SPARQL server down, stalled or hanging up


class Relay:
    """A loopback HTTP relay to the real SPARQL server, on a port of its own, that a test can
    stall (it takes requests and never answers) or take down (nothing listens) and bring back.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.stalled = threading.Event()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/query"

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if self.stalled.is_set():
            self._released.wait(BOUND)
            return
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "accept")}
        upstream = urllib.request.Request(self.upstream + request.path, data=body,
                                          headers=headers, method=request.command)
        with urllib.request.urlopen(upstream, timeout=BOUND) as response:
            answer(request, response.status, response.read(),
                   response.headers.get("Content-Type", ""))

    def start(self) -> None:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                relay._forward(self)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def resume(self) -> None:
        """Answer again; the requests held so far are dropped unanswered."""
        self.stalled.clear()
        self._released.set()  # wakes every held request
        self._released.clear()

    def stop(self) -> None:
        """Nothing listens on the port any more: connections are refused."""
        assert self._server is not None and self._thread is not None
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=BOUND)
        self._released.clear()


BACKEND_TIMEOUT = 2


@pytest.fixture(scope="module")
def remote(release_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Server, Relay]]:
    """``hodo serve --backend`` reading the release from a real Oxigraph server through a
    relay, each backend request within BACKEND_TIMEOUT seconds."""
    folder = tmp_path_factory.mktemp("remote")
    with oxigraph_server(folder / "db") as (oxigraph, _):
        publish_release(release_dir, oxigraph + "/store")
        relay = Relay(oxigraph)
        try:
            with serving(release_dir, folder / "server.log", workers=1,
                         args=["--backend", relay.url],
                         query_timeout=str(BACKEND_TIMEOUT)) as server:
                yield server, relay
        finally:
            relay.stop()


def _fresh_ask(server: Server) -> Reply:
    """``ASK`` over the data, with a fresh constant so that no cache answers it."""
    return server.query(f'ASK {{ ?s ?p ?o FILTER("{next(_nonces)}" != "") }}')


def _page(server: Server, path: str) -> Reply:
    return server.request("GET", path, headers={"Accept": "text/html"}, timeout=BOUND)


def test_a_stalled_backend_is_a_504_that_says_so_and_pages_still_answer(
        remote: tuple[Server, Relay]) -> None:
    server, relay = remote
    bound = BACKEND_TIMEOUT + 10  # the configured timeout, and room for a loaded machine
    relay.stalled.set()
    try:
        reply = _fresh_ask(server)
        _is_short_error(reply, 504)
        assert f"did not answer within {BACKEND_TIMEOUT} s" in reply.text
        assert reply.seconds < bound
        page = _page(server, "/HODO_0000002")
        _is_short_error(page, 504, "text/html")
        assert "SPARQL server this site reads from did not answer" in page.text
        assert page.seconds < bound
        _site_still_answers(server)
    finally:
        relay.resume()
    assert _fresh_ask(server).status == 200
    assert server.request("GET", "/health").status == 200


def _site_still_answers(server: Server) -> None:
    """The home page and search are answered from what was read at start-up; /health says,
    promptly, that the backend is down (a load balancer must not keep sending traffic)."""
    home = _page(server, "/")
    assert home.status == 200 and "/sparql" in home.text
    found = _page(server, "/search?q=osteodystrophy")
    assert found.status == 200 and "HODO_0000001" in found.text
    health = server.request("GET", "/health", timeout=BOUND)
    assert health.status == 503 and json.loads(health.text)["backend"]["status"] == "down"
    assert health.headers.get("retry-after") and health.seconds < BOUND


def test_a_backend_that_goes_down_is_a_502_that_says_so_and_is_used_again_once_back(
        remote: tuple[Server, Relay]) -> None:
    server, relay = remote
    relay.stop()
    try:
        reply = _fresh_ask(server)
        _is_short_error(reply, 502)
        assert "cannot be reached" in reply.text
        page = _page(server, "/HODO_0000003")
        _is_short_error(page, 502, "text/html")
        assert "SPARQL server this site reads from cannot be reached" in page.text
        _site_still_answers(server)
    finally:
        relay.start()
    # nothing of the failure was kept: the same page and query answer once it is back
    page = _page(server, "/HODO_0000003")
    assert page.status == 200 and "HODO_0000003" in page.text
    reply = _fresh_ask(server)
    assert reply.status == 200 and json.loads(reply.body)["boolean"] is True


class Silent:
    """A loopback listener that takes connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.held:
            connection.close()
        self.sock.close()


def test_a_backend_that_never_answers_at_start_up_is_refused_within_the_timeout(
        release_dir: Path) -> None:
    silent = Silent()
    try:
        url = f"http://127.0.0.1:{silent.port}/query"
        started = time.monotonic()
        message = _serve_refused(release_dir, "--backend", url, query_timeout="1")
        assert time.monotonic() - started < BOUND
    finally:
        silent.close()
    assert silent.held, "the server never tried the backend"
    assert url in message and "did not answer within 1 s" in message, message


def test_a_backend_that_hangs_up_at_start_up_is_refused(release_dir: Path) -> None:
    listener = Listener()
    try:
        url = f"{listener.base}query"
        message = _serve_refused(release_dir, "--backend", url)
        assert listener.connections()
    finally:
        listener.close()
    assert url in message and "closed the connection" in message, message


# --------------------------------------------------------------------------------------------
# 5. The disk full while loading


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5 MiB of N-Triples: far past the file size limits below."""
    path = tmp_path_factory.mktemp("big") / "big.nt"
    with path.open("w", encoding="ascii") as out:
        for i in range(60_000):
            out.write(f'<http://example.org/big/{i}> <{LABEL}> "term number {i} of many" .\n')
    return path


def _file_size_limit(limit: int) -> Callable[[], None]:
    """For the child: no file may grow past ``limit`` bytes. SIGXFSZ is ignored, so a write
    past it fails with EFBIG, as a write to a full disk fails with ENOSPC."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _load_on_a_full_disk(release_dir: Path, store: Path, source: Path, limit: int,
                         *args: str) -> str:
    """``hodo load`` whose files cannot grow past ``limit``: it must fail with exit 2 and one
    clear line; the line."""
    done = subprocess.run([str(HODO_CLI), "load", "--dist", str(release_dir), "--store",
                           str(store), *args, str(source)], capture_output=True, text=True,
                          timeout=120, preexec_fn=_file_size_limit(limit))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ") and "nothing was kept" in message, done.stderr
    assert "grew beyond what this system allows" in message, message
    return message


#: Limits that stop the load at different points: creating the store, and loading the file.
LIMITS = {"at-creation": 64 * 2**10, "mid-load": 1 * 2**20}


@pytest.mark.parametrize("limit", LIMITS)
def test_a_full_disk_on_a_first_load_leaves_no_store(release_dir: Path, tmp_path: Path,
                                                     big_file: Path, limit: str) -> None:
    store = tmp_path / "disk" / "store"
    _load_on_a_full_disk(release_dir, store, big_file, LIMITS[limit])
    assert not store.exists()
    assert list(store.parent.iterdir()) == []  # no temporary folder left either
    message = _serve_refused(release_dir, "--store", str(store))
    assert f"{store}: no store here" in message


@pytest.mark.parametrize("limit", LIMITS)
def test_a_full_disk_on_replace_keeps_the_old_store_and_it_is_served(
        release_dir: Path, small_store: Path, tmp_path: Path, big_file: Path,
        limit: str) -> None:
    store = Path(shutil.copytree(small_store, tmp_path / "disk" / "store"))
    before = file_hashes(store)
    _load_on_a_full_disk(release_dir, store, big_file, LIMITS[limit], "--replace")
    assert file_hashes(store) == before
    assert [p.name for p in store.parent.iterdir()] == ["store"]
    with serving(release_dir, tmp_path / "server.log", workers=1,
                 args=["--store", str(store)]) as server:
        graphs = _graph_counts(server)
        assert graphs[EXTERNAL_GRAPHS + "small"] == 1
        assert EXTERNAL_GRAPHS + "big" not in graphs
        reply = server.query(f'ASK {{ GRAPH ?g {{ ?s <{LABEL}> "small and whole" }} }}')
        assert reply.status == 200 and json.loads(reply.body)["boolean"] is True


# --------------------------------------------------------------------------------------------
# 6. The main process killed, a port already in use, a spawner that stops answering


def _tree(server: Server) -> dict[int, str]:
    """Every live process below the server, with its name."""
    return {pid: _comm(pid) for pid in descendants(server.process.pid) if _live(pid)}


def _refused(port: int) -> bool:
    """Whether connecting to the port is refused: nothing listens there any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _kill_main_and_expect_nothing_left(server: Server, tree: dict[int, str]) -> None:
    """SIGKILL the main process, which runs no clean-up of its own: within a few seconds no
    process of its tree is left, and the port refuses connections. Survivors are killed
    after the check, so that a failure leaves nothing running either."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=BOUND)
    try:
        poll(lambda: not any(alive(pid) for pid in tree) or None,
              f"every process of the tree gone ({tree})", timeout=10)
        poll(lambda: _refused(server.port), "the port refusing connections", timeout=10)
    finally:
        for pid in tree:
            if alive(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("server_name", ["granian", "gunicorn"])
def test_a_killed_main_process_takes_its_whole_tree_with_it(
        release_dir: Path, tmp_path: Path, server_name: str) -> None:
    """Web workers, spawners and query workers each die with the process that forked them,
    so none goes on serving the port with no parent."""
    with serving(release_dir, tmp_path / "server.log", workers=WEB_WORKERS,
                 args=["--server", server_name], query_workers=str(QUERY_WORKERS)) as server:
        poll(lambda: _all_query_workers(server), "every query worker forked")
        tree = _tree(server)
        names = sorted(tree.values())
        assert names.count(QUERY_WORKER_NAME) == WEB_WORKERS * QUERY_WORKERS, names
        if server_name == "granian":  # several request threads: a spawner each
            assert names.count(SPAWNER_NAME) == WEB_WORKERS, names
        assert server.request("GET", "/health").status == 200
        _kill_main_and_expect_nothing_left(server, tree)


@pytest.fixture(scope="module")
def running(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("running")
    with serving(release_dir, folder / "server.log", workers=1) as server:
        yield server


def test_a_second_serve_on_a_port_hodo_serves_is_refused(release_dir: Path,
                                                          running: Server) -> None:
    """Its web workers listen with SO_REUSEPORT, which would let a second server share the
    port and the kernel split requests between the two: the second is refused before it
    loads anything, with one line naming the address, and nothing left running."""
    tree = _tree(running)
    started = time.monotonic()
    for server in ("granian", "gunicorn"):
        message = _serve_refused(release_dir, "--server", server, port=running.port)
        assert f"127.0.0.1:{running.port} is in use" in message, message
    assert time.monotonic() - started < BOUND
    assert _tree(running) == tree  # the first server is untouched, and answers
    assert all(running.request("GET", "/health").status == 200 for _ in range(10))


def test_a_second_serve_on_a_port_another_program_listens_on_is_refused(
        release_dir: Path) -> None:
    listener = Listener()
    try:
        message = _serve_refused(release_dir, port=listener.port)
        assert f"127.0.0.1:{listener.port} is in use" in message, message
        message = _serve_refused(release_dir, "--host", "0.0.0.0", port=listener.port)
        assert f"0.0.0.0:{listener.port} is in use" in message, message
    finally:
        listener.close()


def test_a_port_claimed_by_a_server_still_loading_is_refused_to_a_second(
        release_dir: Path) -> None:
    """Two servers started at the same moment: the first holds its claim while it loads, with
    nothing listening yet, and the second is refused all the same."""
    port = free_port()
    held = claim_port("127.0.0.1", port)
    try:
        with pytest.raises(ListenError, match=f"127.0.0.1:{port} is in use"):
            claim_port("127.0.0.1", port)
        message = _serve_refused(release_dir, port=port)
        assert f"127.0.0.1:{port} is in use" in message, message
    finally:
        held.close()
    claim_port("127.0.0.1", port).close()  # let go of, the port is free again


def test_an_address_that_cannot_be_had_is_refused_with_one_line(release_dir: Path) -> None:
    message = _serve_refused(release_dir, "--host", "no-such-host.invalid")
    assert "cannot listen on no-such-host.invalid:" in message, message


def test_a_stopped_spawner_costs_one_503_and_is_replaced(release_dir: Path,
                                                         tmp_path: Path) -> None:
    """SIGSTOP the spawner: queries go on being answered by its workers, which no query
    asks it about. The query that needs it (its worker was killed, and only the spawner can
    reap it) is answered 503 with Retry-After once the spawner's time is up, /health answers
    meanwhile, and the spawner is killed and forked anew, so that queries work again without
    SIGCONT (and after it). The new spawner was forked by a request thread, so it cannot ask
    to die with it: it goes when its socket to the web worker closes, which killing the main
    process then shows."""
    spawner_timeout = PoolSettings().spawner_timeout
    with serving(release_dir, tmp_path / "server.log", workers=1,
                 query_workers=str(QUERY_WORKERS)) as server:
        (stopped,) = poll(lambda: _spawners(server) if _all_spawned(server) else None,
                           "the spawner and its query workers")
        os.kill(stopped, signal.SIGSTOP)
        try:
            started = time.monotonic()
            assert _graph_counts(server)
            assert time.monotonic() - started < spawner_timeout  # nothing waited for it
            health: list[Reply] = []
            reply, _ = _kill_mid_query(
                server, lambda: health.append(server.request("GET", "/health", timeout=BOUND)))
            assert health[0].status == 200 and health[0].seconds < 2, health
            _is_short_error(reply, 503)
            assert int(reply.headers["retry-after"]) >= 1
            assert "spawner did not answer" in reply.text and "replaced" in reply.text
            assert reply.seconds < spawner_timeout + 5, reply.seconds
            poll(lambda: not alive(stopped) or None, "the stopped spawner killed")
            assert _graph_counts(server)  # without SIGCONT
        finally:
            with suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGCONT)
        assert _graph_counts(server)  # and after it
        (replacement,) = _spawners(server)
        assert replacement != stopped
        assert server.request("GET", "/health").status == 200
        poll(lambda: _all_spawned(server), "two query workers of the new spawner")
        _kill_main_and_expect_nothing_left(server, _tree(server))


def _all_spawned(server: Server) -> bool:
    """One spawner, and QUERY_WORKERS query workers of its own."""
    spawners = _spawners(server)
    return len(spawners) == 1 and len({pid for pid in _query_workers(server)
                                       if _parent(pid) in spawners}) == QUERY_WORKERS
