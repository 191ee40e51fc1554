"""Tools of the attack suite: a real ``hodo serve`` process, a raw HTTP client, a listener.

The client writes requests byte for byte (no library that would refuse or repair a hostile
URL or header), and the listener stands in for "the rest of the network": every address an
attack names points at it, so any connection it records is a request HODO made on its own.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

#: Status used for a connection the server closed without an HTTP answer.
CLOSED = 0


@dataclass(frozen=True)
class Reply:
    """What came back: status (``CLOSED`` for none), headers in lower case, body, time taken."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def encode_request(method: str, target: str | bytes, host: str, body: bytes | None = None,
                   headers: Mapping[str, str | bytes] | None = None) -> bytes:
    """An HTTP/1.1 request exactly as given: nothing is quoted, checked or repaired."""
    raw_target = target if isinstance(target, bytes) else target.encode("utf-8")
    lines = [method.encode("ascii") + b" " + raw_target + b" HTTP/1.1", b"Host: " +
             host.encode("ascii"), b"Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(name.encode("ascii") + b": " +
                     (value if isinstance(value, bytes) else value.encode("utf-8")))
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def read_reply(sock: socket.socket, method: str, started: float) -> Reply:
    """Parse the answer on ``sock``; a connection closed without one is ``CLOSED``."""
    response = http.client.HTTPResponse(sock, method=method)
    try:
        response.begin()
        body = response.read()
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        return Reply(CLOSED, {}, b"", time.monotonic() - started)
    finally:
        response.close()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return Reply(response.status, headers, body, time.monotonic() - started)


@dataclass
class Server:
    """A running ``hodo serve``."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self, timeout: float = 30) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def send(self, raw: bytes, method: str = "GET", timeout: float = 30) -> Reply:
        """Send ``raw`` bytes as one request and read the answer."""
        started = time.monotonic()
        with self.connect(timeout) as sock:
            # the server may refuse and close before the whole request is sent
            with suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(raw)
            return read_reply(sock, method, started)

    def request(self, method: str, target: str | bytes, body: bytes | None = None,
                headers: Mapping[str, str | bytes] | None = None, timeout: float = 30) -> Reply:
        host = f"{self.host}:{self.port}"
        return self.send(encode_request(method, target, host, body, headers), method, timeout)

    def query(self, text: str, accept: str = "application/sparql-results+json",
              timeout: float = 30) -> Reply:
        return self.request("POST", "/sparql", text.encode("utf-8"),
                            {"Content-Type": "application/sparql-query", "Accept": accept},
                            timeout)


def start_server(release: Path, log: Path, workers: int = 2, *, args: Sequence[str] = (),
                 **settings: str) -> Server:
    """``hodo serve`` on a free loopback port with these HODO_* settings (and ``args``, such
    as ``--store DIR``), once /health answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODO_")}
    env |= {f"HODO_{k.upper()}": v for k, v in settings.items()}
    hodo = Path(sys.executable).with_name("hodo")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(hodo), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
             str(workers), "--dist", str(release), *args], stdout=out, stderr=out, env=env)
    server = Server("127.0.0.1", port, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if server.request("GET", "/health", timeout=2).status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(log.read_text(errors="replace"))


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@contextmanager
def serving(release: Path, log: Path, workers: int = 2, *, args: Sequence[str] = (),
            **settings: str) -> Iterator[Server]:
    server = start_server(release, log, workers, args=args, **settings)
    try:
        yield server
    finally:
        stop_server(server)


@dataclass
class Listener:
    """A loopback TCP listener that records every connection made to it (and answers none)."""

    sock: socket.socket = field(default_factory=socket.socket)
    seen: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept_pending(self, wait: float) -> None:
        with self._lock:
            while select.select([self.sock], [], [], wait)[0]:
                connection, peer = self.sock.accept()
                self.seen.append(peer)
                connection.close()
                wait = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._accept_pending(0.1)
            except OSError:
                return

    def connections(self) -> list[tuple[str, int]]:
        """Every connection so far, including any still waiting in the backlog."""
        self._accept_pending(0)
        return list(self.seen)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


_dumps = iter(range(1, 10**9))
_DIGITS = "SUBSTR(?h, {start}, 12)"
for _letter, _digit in zip("abcdef", "314159", strict=True):
    _DIGITS = f'REPLACE({_DIGITS}, "{_letter}", "{_digit}")'
#: Every quad (graph, subject, predicate, object with its language and datatype) hashed in the
#: engine; the sums of two slices of those hashes are a fingerprint of the whole set that does
#: not depend on the order of the quads, and one short answer carries it.
FINGERPRINT = f"""PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT (COUNT(*) AS ?n) (SUM(?a) AS ?sa) (SUM(?b) AS ?sb) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }} FILTER("NONCE" != "")
  BIND(SHA256(CONCAT(STR(?g), "\\t", COALESCE(STR(?s), "_:"), "\\t", STR(?p), "\\t",
       COALESCE(STR(?o), "_:"), "\\t", COALESCE(LANG(?o), ""), "\\t",
       COALESCE(STR(DATATYPE(?o)), ""))) AS ?h)
  BIND(xsd:integer({_DIGITS.format(start=1)}) AS ?a)
  BIND(xsd:integer({_DIGITS.format(start=13)}) AS ?b)
}}"""


def _tsv(server: Server, query: str) -> list[bytes]:
    reply = server.query(query, accept="text/tab-separated-values")
    assert reply.status == 200, reply.text[:300]
    return reply.body.splitlines()[1:]


def data_hash(server: Server) -> str:
    """A fingerprint of the served data, read through the endpoint: the quads' count and hash
    sums, then every graph name. A constant unique to each call keeps the answers out of any
    cache."""
    nonce = f"{next(_dumps)} {time.monotonic_ns()}"
    (row,) = _tsv(server, FINGERPRINT.replace("NONCE", nonce))
    count, first, second = (cell.split(b"^^")[0].strip(b'"') for cell in row.split(b"\t"))
    assert int(count) > 1000 and first and second, row
    graphs = sorted(_tsv(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { } "
                              f'FILTER("{nonce}" != "") }}'))
    return hashlib.sha256(b"\n".join([row, *graphs])).hexdigest()
