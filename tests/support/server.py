"""Real server processes for the tests: ``hodo serve`` and the Oxigraph server.

``serving`` starts ``hodo serve`` as users start it, on a free loopback port, and yields a
``Server`` once ``/health`` answers. Its client writes requests byte for byte (no library that
would refuse or repair a hostile URL or header), so the attack suite can send anything.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.net import free_port

#: Status used for a connection the server closed without an HTTP answer.
CLOSED = 0
#: The ``hodo`` and ``oxigraph`` commands installed beside this Python.
HODO_CLI = Path(sys.executable).with_name("hodo")
OXIGRAPH = Path(sys.executable).with_name("oxigraph")


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
    """A running ``hodo serve``.

    Requests leave from ``source`` when given, else from the next address of ``sources`` when
    set (so that a per-client limit sees each request as another client), else from 127.0.0.1.
    """

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    sources: Iterator[str] | None = None
    own_log: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self, timeout: float = 30, source: str | None = None) -> socket.socket:
        if source is None and self.sources is not None:
            source = next(self.sources)
        return socket.create_connection((self.host, self.port), timeout=timeout,
                                        source_address=(source, 0) if source else None)

    def send(self, raw: bytes, method: str = "GET", timeout: float = 30,
             source: str | None = None) -> Reply:
        """Send ``raw`` bytes as one request and read the answer."""
        started = time.monotonic()
        with self.connect(timeout, source) as sock:
            # the server may refuse and close before the whole request is sent
            with suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(raw)
            return read_reply(sock, method, started)

    def request(self, method: str, target: str | bytes, body: bytes | None = None,
                headers: Mapping[str, str | bytes] | None = None, timeout: float = 30,
                source: str | None = None) -> Reply:
        host = f"{self.host}:{self.port}"
        return self.send(encode_request(method, target, host, body, headers), method, timeout,
                         source)

    def query(self, text: str, accept: str = "application/sparql-results+json",
              timeout: float = 30, source: str | None = None) -> Reply:
        return self.request("POST", "/sparql", text.encode("utf-8"),
                            {"Content-Type": "application/sparql-query", "Accept": accept},
                            timeout, source)

    def metric(self, line_prefix: str) -> float:
        """The value of one line of ``/metrics``."""
        for line in self.request("GET", "/metrics").text.splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no metric {line_prefix}")


def start_server(release: Path, log: Path | None = None, workers: int = 2, *,
                 args: Sequence[str] = (), port: int | None = None, **settings: str) -> Server:
    """``hodo serve`` on a free loopback port (or ``port``) with these HODO_* settings
    (``query_timeout="2"`` is ``HODO_QUERY_TIMEOUT=2``) and ``args``, such as ``--store DIR``,
    once /health answers. Its output goes to ``log`` (a temporary file, removed when it stops,
    if not given)."""
    own_log = log is None
    if log is None:
        handle, name = tempfile.mkstemp(prefix="hodo-serve-", suffix=".log")
        os.close(handle)
        log = Path(name)
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODO_")}
    env |= {f"HODO_{k.upper()}": v for k, v in settings.items()}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(HODO_CLI), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
             str(workers), "--dist", str(release), *args], stdout=out, stderr=out, env=env)
    server = Server("127.0.0.1", port, process, log, own_log=own_log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if server.request("GET", "/health", timeout=2).status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    message = log.read_text(errors="replace")
    stop_server(server)
    raise RuntimeError(message or "hodo serve did not start")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if server.own_log:
        server.log.unlink(missing_ok=True)


@contextmanager
def serving(release: Path, log: Path | None = None, workers: int = 2, *,
            args: Sequence[str] = (), **settings: str) -> Iterator[Server]:
    """``start_server`` for the length of a ``with`` block."""
    server = start_server(release, log, workers, args=args, **settings)
    try:
        yield server
    finally:
        stop_server(server)


@contextmanager
def oxigraph_server(location: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The Oxigraph server on a free loopback port, once it answers; its base URL and process."""
    if not OXIGRAPH.is_file():
        pytest.fail("the oxigraph server is not installed: `make install` installs it")
    port = free_port()
    process = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(location),
                                "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the oxigraph server did not start") from None
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


T = TypeVar("T")


def poll(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed: a wait
    for a process to start, die or be replaced fails the test instead of hanging it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:g} s")
