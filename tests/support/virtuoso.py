"""A Virtuoso server of the tests' own (Debian's ``virtuoso-opensource``), on loopback ports.

Making a new database is what costs (Virtuoso writes its own schema into it: most of its start-up
time); a copy of a database made once per session starts in a few seconds. Buffers, threads and
query memory are set small: the release is ten thousand triples.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port

VIRTUOSO = shutil.which("virtuoso-t")
#: Virtuoso's administrator, as a new database makes it; the tests publish as it.
USER, PASSWORD = "dba", "dba"
DB_FILES = ("virtuoso.db", "virtuoso.trx")

INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 8
CheckpointInterval = 0
O_DIRECT = 0
CaseMode = 2
AllowOSCalls = 0
DirsAllowed = .
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
NumberOfBuffers = 2000
MaxDirtyBuffers = 1200
MaxQueryMem = 256M

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {db}
MaxClientConnections = 8
ServerThreads = 8
MaxKeepAlives = 8
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime = 60
"""


@dataclass(frozen=True)
class Virtuoso:
    """A running Virtuoso: its query endpoint, its Graph Store endpoint (Digest login) and
    process."""

    base: str
    process: subprocess.Popen[bytes]

    @property
    def query_url(self) -> str:
        return self.base + "/sparql"

    @property
    def store_url(self) -> str:
        return self.base + "/sparql-graph-crud-auth"


def require() -> str:
    """The ``virtuoso-t`` command, or the test is skipped saying how to install it."""
    if VIRTUOSO is None:
        pytest.skip("virtuoso-t is not installed: apt-get install virtuoso-opensource "
                    "(.ci/run installs it)")
    return VIRTUOSO


@contextmanager
def virtuoso_server(folder: Path, template: Path | None = None,
                    timeout: float = 120) -> Iterator[Virtuoso]:
    """Virtuoso on free loopback ports with its database in ``folder`` (a copy of
    ``template``'s, when given), once its SPARQL endpoint answers."""
    command = require()
    folder.mkdir(parents=True, exist_ok=True)
    if template is not None:
        for name in DB_FILES:
            if (template / name).exists():
                shutil.copy2(template / name, folder / name)
    http_port, sql_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(INI.format(db=folder, sql_port=sql_port, http_port=http_port))
    with (folder / "stdout.log").open("wb") as log:
        process = subprocess.Popen([command, "+foreground", "+configfile", str(ini)],
                                   cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        _wait(base, process, folder, timeout)
        yield Virtuoso(base, process)
    finally:
        stop(process)


def _wait(base: str, process: subprocess.Popen[bytes], folder: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/sparql?query=ASK%7B%7D", timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "virtuoso.log")
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"virtuoso did not start:\n{tail}") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Virtuoso (SIGTERM: a quick shutdown, its log replayed at the next start)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def make_template(folder: Path) -> float:
    """A new, empty database in ``folder``, made by starting Virtuoso once and stopping it;
    the seconds that took."""
    started = time.monotonic()
    with virtuoso_server(folder):
        pass
    return time.monotonic() - started
