"""Loopback networking for the tests: a free port, a listener, a fake HTTP server."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@contextmanager
def fake_server(handle: Callable[[BaseHTTPRequestHandler, bytes], None]) -> Iterator[str]:
    """A loopback HTTP server whose every request is answered by ``handle(request, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            handle(self, body)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def reply(request: BaseHTTPRequestHandler, status: int, body: bytes,
          media_type: str = "text/plain") -> None:
    """Answer ``request`` (in a fake server's handler) with this status and body."""
    request.send_response(status)
    request.send_header("Content-Type", media_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
