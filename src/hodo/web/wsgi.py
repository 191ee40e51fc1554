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

Each web worker, with the query workers it forks, keeps to a share of the machine's cores of
its own (``CorePlacement``, ``HODO_PIN_CORES``): a query's trip from a request thread to its
query worker and back then wakes no other core, and neither process finds its caches emptied
by the other web worker's. The shares are claimed from a table every web worker sees, so one
the server replaces takes over the share of the one it replaces.

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
from collections.abc import Sequence
from typing import Any

from flask import Flask

from hodo.core.errors import UsageError
from hodo.core.lifetime import die_with_parent
from hodo.core.slots import ProcessSlots, consecutive_runs
from hodo.web import ops
from hodo.web.state import state as app_state


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


def core_shares(cores: Sequence[int], workers: int) -> list[frozenset[int]]:
    """``cores`` split into ``workers`` runs of consecutive cores, as equal as can be; none
    when there are fewer cores than web workers (two sharing a core would gain nothing).

    >>> core_shares([0, 1, 2, 3, 4], 2)
    [frozenset({0, 1, 2}), frozenset({3, 4})]
    >>> core_shares([0, 1], 3)
    []
    """
    if workers < 1 or len(cores) < workers:
        return []
    return [frozenset(run) for run in consecutive_runs(cores, workers)]


class CorePlacement:
    """Which share of the cores each web worker keeps to; made before the server forks.

    A web worker claims a free share as it starts, before it starts a thread or forks a
    process, so everything it runs afterwards inherits the share; a share whose holder died
    is free again (``ProcessSlots``).
    """

    def __init__(self, workers: int, enabled: bool = True) -> None:
        self.shares = core_shares(sorted(os.sched_getaffinity(0)), workers) if enabled else []
        self.slots = ProcessSlots(len(self.shares))

    def take(self) -> frozenset[int] | None:
        """Pin this process to a free share; None, changing nothing, when there is none."""
        index = self.slots.claim() if self.shares else None
        if index is None:
            return None
        os.sched_setaffinity(0, self.shares[index])
        return self.shares[index]


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
    placement = CorePlacement(workers, bool(app_state(app).settings.pin_cores))
    try:
        if server == "gunicorn":
            run_gunicorn(app, held, workers, access_log, placement)
        else:
            run_granian(app, host, port, workers, access_log, placement)
    finally:
        held.close()


def run_granian(app: Flask, host: str, port: int, workers: int, access_log: bool = False,
                placement: CorePlacement | None = None) -> None:
    """Granian's WSGI interface: ``workers`` processes, each running as many requests at
    once as it has query workers (``ops.request_threads``), each kept to its share of the
    cores by ``placement``."""
    from granian import Granian
    from granian.constants import Interfaces

    threads = ops.request_threads(app)
    owner = os.getpid()  # Granian forks every web worker from this process's main thread

    def load(target: str) -> Any:
        # in the new worker, before Granian starts its own threads
        die_with_parent(owner)
        if placement is not None:
            placement.take()
        ops.prestart(app, threaded=threads > 1)
        return app

    server = Granian(
        "hodo", address=host, port=port, interface=Interfaces.WSGI, workers=workers,
        blocking_threads=threads, log_access=access_log, respawn_failed_workers=True,
        workers_kill_timeout=worker_timeout(app), backlog=1024)
    server.serve(target_loader=load)


def run_gunicorn(app: Flask, claimed: socket.socket, workers: int, access_log: bool = False,
                 placement: CorePlacement | None = None) -> None:
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
            self.cfg.set("post_fork", lambda server, worker: _started(owner, placement))
            # query workers are forked by each web worker once it is up, and killed with it
            self.cfg.set("post_worker_init", lambda worker: ops.prestart(app))
            self.cfg.set("worker_exit", lambda server, worker: ops.shutdown(app))

        def load(self) -> object:
            return app

    Server().run()


def _started(owner: int, placement: CorePlacement | None) -> None:
    """In a new gunicorn worker: die with the arbiter, keep to a share of the cores."""
    die_with_parent(owner)
    if placement is not None:
        placement.take()
