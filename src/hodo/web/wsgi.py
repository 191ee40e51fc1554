"""The production HTTP servers that run the app: Granian (the default) or gunicorn.

Both load nothing themselves: the app, with its release and the shared tables of ``ops``, is
built once in the main process and inherited by every web worker through ``fork``. Each web
worker then forks its own query workers before it answers anything, while it is still one
thread. Under Granian a web worker runs one request thread per query worker, so that a slow query
holds one thread and the others still answer: Granian hands a connection to a web worker
whether or not it is busy. Its query workers are then forked by a spawner, a process forked
while the web worker was still one thread, so no other thread can hold a lock of the store when
one is forked (see ``hodo.engine.workers.Spawner``). gunicorn's sync workers run one request at a
time and accept a connection only when free.

Granian was chosen by measurement (README, Performance and scale): its HTTP handling is written
in Rust and keeps connections alive, so a cheap request costs a fraction of what gunicorn's
Python HTTP parsing costs. gunicorn stays available (``hodo serve --server gunicorn``, or
``gunicorn server:app``) for deployments that standardise on it.

Every web worker dies with the process that forked it (``hodo.core.lifetime``), and so, down
the tree, do its spawner and query workers: a ``hodo serve`` killed with SIGKILL leaves nothing
serving its port. Granian gives each web worker a listening socket with ``SO_REUSEPORT``, which
the kernel lets a second server share, splitting requests between the two; so the port is
claimed first (``claim_port``), and a port something already listens on is refused. gunicorn
listens on the claimed socket itself.
"""

from __future__ import annotations

import errno
import math
import os
import socket
from typing import Any

from flask import Flask

from hodo.core.errors import UsageError
from hodo.core.lifetime import die_with_parent
from hodo.web import ops


class ListenError(UsageError):
    """The address to serve on cannot be had (in use, not permitted, not this machine's)."""


def claim_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, to hold while the server runs.

    It is bound without ``SO_REUSEPORT``, which the kernel refuses when anything listens on the
    port already (another ``hodo serve``, whose web workers listen with ``SO_REUSEPORT``, or
    any other server); with ``SO_REUSEADDR``, so that connections of an earlier server still in
    TIME_WAIT do not count. Then the options are turned round: without ``SO_REUSEADDR`` no
    other socket may bind beside it, so a second ``hodo serve`` is refused here even while this
    one is still loading, and with ``SO_REUSEPORT`` Granian's web workers may. It never
    listens itself under Granian, so no connection waits on it; gunicorn listens on it.

    Raises:
        ListenError: the port is in use, or the address cannot be bound; one line naming it.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise ListenError(f"cannot listen on {where}: {error}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no user
        sock.bind(address)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ListenError(f"{where} is in use: another server listens there; stop it or "
                              "choose another --port") from None
        raise ListenError(f"cannot listen on {where}: {error.strerror or error}") from None
    return sock


def worker_timeout(app: Flask) -> int:
    """Seconds a web worker may take over one request: longer than its slowest query."""
    settings = ops.state(app).settings
    return math.ceil(max(30.0, settings.pool.deadline + settings.pool.queue_timeout + 10))


def run(app: Flask, host: str, port: int, workers: int, server: str = "granian",
        access_log: bool = False, claimed: socket.socket | None = None) -> None:
    """Serve ``app`` until interrupted; ``claimed``: the port, from ``claim_port`` (claimed
    here when not given).

    Raises:
        ListenError: the port is in use, or the address cannot be bound.
    """
    held = claimed or claim_port(host, port)
    try:
        if server == "gunicorn":
            run_gunicorn(app, held, workers, access_log)
        else:
            run_granian(app, host, port, workers, access_log)
    finally:
        held.close()


def run_granian(app: Flask, host: str, port: int, workers: int, access_log: bool = False
                ) -> None:
    """Granian's WSGI interface: ``workers`` processes, each running as many requests at
    once as it has query workers (``ops.request_threads``)."""
    from granian import Granian
    from granian.constants import Interfaces

    threads = ops.request_threads(app)
    owner = os.getpid()  # Granian forks every web worker from this process's main thread

    def load(target: str) -> Any:
        # in the new worker, before Granian starts its own threads
        die_with_parent(owner)
        ops.prestart(app, threaded=threads > 1)
        return app

    server = Granian(
        "hodo", address=host, port=port, interface=Interfaces.WSGI, workers=workers,
        blocking_threads=threads, log_access=access_log, respawn_failed_workers=True,
        workers_kill_timeout=worker_timeout(app), backlog=1024)
    server.serve(target_loader=load)


def run_gunicorn(app: Flask, claimed: socket.socket, workers: int, access_log: bool = False
                 ) -> None:
    """gunicorn's sync workers; the release is loaded once, before the workers fork.

    They accept from one listening socket, the one ``claim_port`` bound: each takes a
    connection only when free, which ``SO_REUSEPORT`` (a socket per worker, connections
    hashed between them) would undo, so it is turned off again first.
    """
    from gunicorn.app.base import BaseApplication

    claimed.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 0)
    listener = os.dup(claimed.fileno())  # gunicorn takes it over, and closes it
    timeout = worker_timeout(app)
    owner = os.getpid()  # the arbiter: it forks every web worker from its main thread

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"fd://{listener}")
            self.cfg.set("workers", workers)
            if access_log:
                self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", timeout)
            self.cfg.set("post_fork", lambda server, worker: die_with_parent(owner))
            # query workers are forked by each web worker once it is up, and killed with it
            self.cfg.set("post_worker_init", lambda worker: ops.prestart(app))
            self.cfg.set("worker_exit", lambda server, worker: ops.shutdown(app))

        def load(self) -> object:
            return app

    Server().run()
