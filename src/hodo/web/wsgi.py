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
serving its port.
"""

from __future__ import annotations

import math
import os
from typing import Any

from flask import Flask

from hodo.core.lifetime import die_with_parent
from hodo.web import ops


def worker_timeout(app: Flask) -> int:
    """Seconds a web worker may take over one request: longer than its slowest query."""
    settings = ops.state(app).settings
    return math.ceil(max(30.0, settings.pool.deadline + settings.pool.queue_timeout + 10))


def run(app: Flask, host: str, port: int, workers: int, server: str = "granian",
        access_log: bool = False) -> None:
    """Serve ``app`` until interrupted."""
    if server == "gunicorn":
        run_gunicorn(app, host, port, workers, access_log)
    else:
        run_granian(app, host, port, workers, access_log)


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


def run_gunicorn(app: Flask, host: str, port: int, workers: int, access_log: bool = False
                 ) -> None:
    """gunicorn's sync workers; the release is loaded once, before the workers fork."""
    from gunicorn.app.base import BaseApplication

    timeout = worker_timeout(app)
    owner = os.getpid()  # the arbiter: it forks every web worker from its main thread

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
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
