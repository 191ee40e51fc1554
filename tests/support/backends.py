"""The real SPARQL servers ``hodo serve --backend`` is tested against, behind one interface: the
Oxigraph server and Virtuoso. A test that takes the ``backend`` fixture runs against each."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hodo.engine.remote import Credentials
from tests.support import virtuoso
from tests.support.server import oxigraph_server

ENGINES = ("oxigraph", "virtuoso")


@dataclass(frozen=True)
class Backend:
    """A running server: where HODO queries it, where ``hodo publish`` writes to it (and as
    whom), and its process."""

    engine: str
    query_url: str
    store_url: str
    credentials: Credentials | None
    process: subprocess.Popen[bytes]

    def publish_args(self) -> list[str]:
        """``hodo publish`` arguments for this server (the password goes in the environment)."""
        user = ["--user", self.credentials.user] if self.credentials else []
        return ["--to", self.store_url, *user]


@contextmanager
def backend_server(engine: str, folder: Path,
                   virtuoso_template: Path | None = None) -> Iterator[Backend]:
    """The ``engine`` server with its data in ``folder``, until the block ends."""
    if engine == "oxigraph":
        with oxigraph_server(folder) as (url, process):
            yield Backend(engine, url + "/query", url + "/store", None, process)
    elif engine == "virtuoso":
        with virtuoso.virtuoso_server(folder, virtuoso_template) as server:
            yield Backend(engine, server.query_url, server.store_url,
                          Credentials(virtuoso.USER, virtuoso.PASSWORD), server.process)
    else:
        raise ValueError(engine)
