"""Pre-forked query processes: every public query runs in one, under a deadline and a memory cap.

pyoxigraph cannot cancel a query, crashes on some inputs and can be asked for gigabytes by a
small query (see HAZARDS.md), so a query runs in a child process forked from the process that
holds the loaded store (the store is shared by fork, not copied). The parent waits for the
answer; when the deadline passes, or the child dies, the child is killed and a fresh one forked.

A child is also boxed in: its address space is capped (``RLIMIT_AS``), its CPU time is capped a
little past each deadline (so an orphan cannot run on), it dumps no core, and it holds no file
descriptor but stdio, its pipe and the open files of an on-disk store, and may open none (over
an on-disk store, which opens its files as queries need them: no socket and no file for
writing, refused by seccomp): even a ``SERVICE`` that slipped past the checks could not open a
socket. It dies with the process that forked it (``hodo.core.lifetime``), or, forked by a
request thread that may end first, when its pipe reads end of file.

Messages are length-prefixed JSON headers plus raw bytes, never pickles: the parent does not
trust what comes back from a process that just ran untrusted input.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import math
import os
import resource
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pyoxigraph as ox

from hodo.core.errors import NotAvailable
from hodo.core.formats import BY_NAME
from hodo.core.lifetime import die_with_parent, forked_by_a_lasting_thread
from hodo.core.slots import ProcessSlots
from hodo.engine import query
from hodo.engine.query import Limits, NotAcceptable, QueryError, QueryResult, execute

#: The child's end of its pipe, after every other descriptor above stderr is closed (unless an
#: on-disk store's file has that number: then the pipe keeps the number it has).
CHILD_FD = 3
#: On-disk stores opened in this process, by identity, with their folders: a child forked
#: over one keeps its descriptors there (the store is held here, so its id stays its own).
_STORE_FOLDERS: dict[int, tuple[ox.Store, str]] = {}
_FRAME = struct.Struct("!II")
#: What ``ps`` and ``/proc/PID/comm`` call a query worker and a spawner (15 bytes at most).
QUERY_WORKER_NAME = "hodo-query"
SPAWNER_NAME = "hodo-spawner"
_SIGNALS_TO_RESET = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCHLD",
                     "SIGWINCH", "SIGTTIN", "SIGTTOU", "SIGABRT", "SIGPIPE")


class Unavailable(NotAvailable):
    """The query could not be answered now (HTTP 503 with Retry-After).

    ``reason`` is a fixed word for metrics: ``timeout``, ``crash``, ``busy``, ``overloaded``.
    """

    def __init__(self, message: str, reason: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class PoolSettings:
    """How many children, how long a query may run and how much memory it may add."""

    size: int = 1
    deadline: float = 10.0
    memory_bytes: int = 512 * 2**20
    #: A query still running after this many seconds counts as slow: it must then
    #: hold one of the slow-query slots every web worker shares (``ProcessSlots``).
    slow_after: float = 1.0
    #: How long a request waits for an idle child before it is answered 503.
    queue_timeout: float = 5.0
    #: How long the spawner may take over one exchange (fork a worker, say how one ended)
    #: before it is taken for stuck, killed and forked anew.
    spawner_timeout: float = 3.0


# --------------------------------------------------------------------------------------------
# Framing


def _send(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header, ensure_ascii=False).encode("utf-8")
    _write_all(fd, _FRAME.pack(len(data), len(body)) + data + body)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _receive(fd: int, timeout: float | None = None) -> tuple[dict[str, Any], bytes] | None:
    """One message, or None at end of file (the other side is gone) or when ``timeout``
    seconds pass before it is whole (the other side is stuck).

    The first read asks for up to ``_FIRST_READ`` bytes, so that a whole small message (most
    answers) comes in one system call; then exactly what is missing. Only one message is ever
    in flight on a pipe (a query, then its answer), so nothing of the next one is taken; bytes
    past the message announced mean the other side broke the protocol, and count as its end.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    poller = None
    if deadline is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    data = _read_into(fd, bytearray(), _FRAME.size, _FIRST_READ, poller, deadline)
    if data is None:
        return None
    header_size, body_size = _FRAME.unpack_from(data)
    whole = _FRAME.size + header_size + body_size
    data = _read_into(fd, data, whole, 0, poller, deadline)
    if data is None or len(data) != whole:
        return None
    view = memoryview(data)
    header = json.loads(view[_FRAME.size:_FRAME.size + header_size].tobytes())
    return header, view[_FRAME.size + header_size:].tobytes()


#: What the first read of a message asks for: the frame, and all of a small message.
_FIRST_READ = 64 * 2**10


def _read_into(fd: int, data: bytearray, size: int, ask: int, poller: Any,
               deadline: float | None) -> bytearray | None:
    """Read until ``data`` holds at least ``size`` bytes, asking for at least ``ask`` at a
    time (and never more than ``size`` needs when ``ask`` is 0); None at end of file or
    past ``deadline``. The descriptor stays blocking, each read waited for with ``poller``
    when there is a deadline, so a message larger than the socket buffer arrives in pieces
    without an error."""
    while len(data) < size:
        if poller is not None and deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                return None
        chunk = os.read(fd, min(max(size - len(data), ask), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return data


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes (the spawner's fixed-size commands), or None at end of file."""
    data = _read_into(fd, bytearray(), size, 0, None, None)
    return None if data is None else bytes(data)


# --------------------------------------------------------------------------------------------
# The child


def keep_store_files(store: ox.Store, folder: str | os.PathLike[str]) -> None:
    """Let query children over ``store`` keep the descriptors open under ``folder``.

    An on-disk (RocksDB) store reads its files through descriptors it opened with the store;
    a child closes every other one.
    """
    _STORE_FOLDERS[id(store)] = (store, os.path.realpath(folder))


def _child_main(fd: int, store: ox.Store, settings: PoolSettings, parent: int | None
                ) -> None:
    """Serve queries on ``fd`` until the parent goes away; never returns.

    ``parent``: the pid of the process that forked this one, when the thread that did lasts
    as long as that process; the child then dies with it (``die_with_parent``). Otherwise it
    goes when its pipe reads end of file, at the latest when the query it runs ends.
    """
    if parent is not None:
        die_with_parent(parent)
    status = 0
    try:
        _name_process(QUERY_WORKER_NAME)
        entry = _STORE_FOLDERS.get(id(store))
        fd = _box_in(fd, settings, entry[1] if entry and entry[0] is store else None)
        cap = None
        while (message := _receive(fd)) is not None:
            cap = _cap_cpu(settings.deadline, cap)
            header, _ = message
            _answer(store, header, fd)
    except BaseException:  # the parent sees the end of file and reports a crash
        status = 70
    os._exit(status)


def _name_process(name: str) -> None:
    """Give this process its own name in ``ps`` (``PR_SET_NAME``), so an operator, or a test,
    tells the query workers from the web worker they were forked from."""
    pr_set_name = 15
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_name, name.encode()[:15], 0, 0, 0)


def _box_in(fd: int, settings: PoolSettings, store_folder: str | None = None) -> int:
    """Default signals, no core, capped memory, and no descriptor but stdio, the pipe and the
    store's files; returns the pipe's descriptor."""
    gc.freeze()  # objects inherited from the parent are never finalised here
    for name in _SIGNALS_TO_RESET:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with suppress(ValueError):
        signal.set_wakeup_fd(-1)
    address_space = _address_space()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fd = _seal_descriptors(fd, store_folder)
    cap_address_space(settings.memory_bytes, address_space)
    return fd


def cap_address_space(extra: int, current: int | None = None) -> None:
    """Let this process grow by ``extra`` bytes of address space beyond ``current`` (its
    size now, by default), and no further (``RLIMIT_AS``; within any hard limit it has)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = (_address_space() if current is None else current) + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _seal_descriptors(fd: int, store_folder: str | None) -> int:
    """Keep stdio, the pipe and the store's files, close the rest, and allow no new socket.

    ``RLIMIT_NOFILE`` goes just above the highest descriptor kept, and every free number below
    it is taken by ``/dev/null``: the kernel gives out the lowest free number, so any later
    ``open``, ``socket`` or ``accept`` fails with EMFILE. An on-disk store with more files
    than RocksDB opens up front (16) opens the others as queries reach them, so over such a
    store a seccomp filter refuses sockets and opening files for writing instead, and the
    limit leaves room for the store's files only. Returns the pipe's descriptor.
    """
    kept = _store_descriptors(store_folder) if store_folder else set()
    pipe = fd if CHILD_FD in kept else CHILD_FD
    if fd != pipe:
        os.dup2(fd, pipe, inheritable=False)
    _close_all_but(kept | {pipe})
    ceiling = max(kept | {pipe}) + 1
    if store_folder and _forbid_sockets_and_writes():
        ceiling += len(os.listdir(store_folder)) + 8
    else:
        _fill_free_numbers(ceiling)
    resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, ceiling))
    return pipe


#: Per architecture: the audit code and the numbers of the system calls the filter inspects.
_SYSCALLS = {
    "x86_64": (0xC000003E, {"socket": 41, "socketpair": 53, "open": 2, "openat": 257,
                            "creat": 85, "openat2": 437, "execve": 59, "execveat": 322}),
    "aarch64": (0xC00000B7, {"socket": 198, "socketpair": 199, "openat": 56, "openat2": 437,
                             "execve": 221, "execveat": 281}),
}
#: open(2) flags that create or write.
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _forbid_sockets_and_writes() -> bool:
    """Install a seccomp filter: no socket, no exec, files opened for reading only (EPERM).

    Returns False, installing nothing, where seccomp or this architecture is not supported.
    """
    import platform

    arch = _SYSCALLS.get(platform.machine())
    if arch is None:
        return False
    program = _seccomp_program(*arch)
    filters = (_SockFilter * len(program))(*program)  # type: ignore[misc]
    fprog = _SockFprog(len(program), ctypes.cast(filters, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return bool(libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) == 0)


def _seccomp_program(audit_arch: int, numbers: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """The classic BPF program, as (code, jump if true, jump if false, constant) tuples."""
    load, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM
    refused = [numbers[n] for n in ("socket", "socketpair", "creat", "openat2", "execve",
                                    "execveat") if n in numbers]
    flags_at = {numbers["openat"]: 2, **({numbers["open"]: 1} if "open" in numbers else {})}
    program = [(load, 0, 0, 4), (jeq, 1, 0, audit_arch), (ret, 0, 0, deny), (load, 0, 0, 0),
               (jset, 0, 1, 0x40000000), (ret, 0, 0, deny)]  # another ABI (x32): refused
    for number in refused:
        program += [(jeq, 0, 1, number), (ret, 0, 0, deny)]
    for number, argument in flags_at.items():
        program += [(jeq, 0, 3, number), (load, 0, 0, 16 + 8 * argument),
                    (jset, 0, 1, _WRITE_FLAGS), (ret, 0, 0, deny), (load, 0, 0, 0)]
    return [*program, (ret, 0, 0, allow)]


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.c_void_p)]


def _store_descriptors(folder: str) -> set[int]:
    """This process's descriptors on files in ``folder``."""
    kept = set()
    for name in os.listdir("/proc/self/fd"):
        with suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{name}")
            if target.startswith(folder + os.sep):
                kept.add(int(name))
    return kept


def _close_all_but(kept: set[int]) -> None:
    """Close every descriptor above stderr that is not in ``kept``."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = CHILD_FD
    for number in sorted(n for n in kept if n >= CHILD_FD):
        os.closerange(low, number)
        low = number + 1
    os.closerange(low, max(soft, 1024, low))


def _fill_free_numbers(ceiling: int) -> None:
    """Take every free descriptor number below ``ceiling`` with ``/dev/null``."""
    while (spare := os.open(os.devnull, os.O_RDONLY)) < ceiling:
        pass
    os.close(spare)


def _address_space() -> int:
    """The process's current virtual size: the memory cap is headroom above it."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def _cap_cpu(deadline: float, current: int | None = None) -> int:
    """CPU time may run a little past this query's deadline, then the kernel stops it.

    Returns the cap in whole seconds of CPU time. ``current`` is the cap set for the last
    query: the cap changes only once the CPU time used passes another whole second, and the
    kernel is asked again only then, so most queries cost one system call here, not three.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + math.ceil(deadline) + 2
    if soft == current:
        return soft
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    return soft


def _answer(store: ox.Store, header: dict[str, Any], fd: int = CHILD_FD) -> None:
    kwargs = dict(header.get("kwargs", {}))
    if "limits" in kwargs:
        kwargs["limits"] = Limits(**kwargs["limits"])
    try:
        result = execute(store, header["query"], **kwargs)
    except NotAcceptable as error:
        _send(fd, {"error": "not_acceptable", "offers": [f.name for f in error.offers]})
    except QueryError as error:
        _send(fd, {"error": "query", "message": str(error), "reason": error.reason,
                   "messages": error.messages, "class": type(error).__name__})
    except MemoryError:
        _send(fd, {"error": "memory"})
        raise
    except Exception as error:  # a bug, not the client's fault: the parent answers 500
        _send(fd, {"error": f"internal: {type(error).__name__}"})
    else:
        _send(fd, {"format": result.format.name}, result.body)


# --------------------------------------------------------------------------------------------
# The parent


# --------------------------------------------------------------------------------------------
# The spawner


_COMMAND = struct.Struct("!ci")
_STATUS = struct.Struct("!i")
#: what the spawner answers for a worker it does not know (or when it is gone)
UNKNOWN = -1


class SpawnerGone(OSError):
    """The spawner died (killed from outside): a new one must be made."""


class SpawnerStuck(SpawnerGone):
    """The spawner did not answer in time (stopped, or starved): it is killed and a new one
    made; the request that met it is answered 503."""


class Spawner:
    """A process that forks query workers for a web worker that runs several threads.

    ``fork`` copies only the calling thread: a lock another thread holds at that moment stays
    held for ever in the child. The spawner is forked from its owner while the owner is still
    one thread, and stays one thread, so every query worker it forks starts from a quiet copy of
    the store. It is asked over a socket: fork a worker (its pid and its end of a new pipe come
    back), or wait for one and say how it ended (only a parent can). Every exchange has
    ``settings.spawner_timeout`` seconds: a spawner that takes longer is broken for good (its
    socket may hold a late answer) and must be replaced, so no request thread waits on it for
    ever, nor holds the pool's lock while it does.

    Its workers die with it (``die_with_parent``); it dies with its owner when forked by the
    owner's main thread, and in any case ends when its socket reads end of file.
    """

    def __init__(self, store: ox.Store, settings: PoolSettings) -> None:
        owner = os.getpid()
        lasting = forked_by_a_lasting_thread()
        ours, theirs = socket.socketpair()
        try:
            pid = os.fork()
        except BaseException:
            ours.close()
            theirs.close()
            raise
        if pid == 0:  # pragma: no cover - the spawner's coverage is not collected
            ours.close()
            _spawner_main(theirs, store, settings, owner if lasting else None)
        theirs.close()
        ours.settimeout(settings.spawner_timeout)
        self.pid = pid
        self.timeout = settings.spawner_timeout
        #: Set once an exchange failed or the spawner was killed: it is asked nothing more.
        self.broken = False
        self._control = ours
        self._lock = threading.Lock()
        self._reaped = False

    def spawn(self) -> tuple[int, socket.socket]:
        """Fork a query worker: its pid and the parent's end of its pipe.

        Raises:
            SpawnerGone: the spawner is gone (SpawnerStuck: it did not answer in time).
            OSError: the spawner could not fork.
        """
        data, fds = self._ask(b"F", 0)
        (pid,) = _STATUS.unpack(data)
        if pid < 0 or not fds:
            for fd in fds:
                os.close(fd)
            raise OSError(-pid if pid < 0 else errno.EAGAIN, os.strerror(-pid if pid < 0
                                                                         else errno.EAGAIN))
        return pid, socket.socket(fileno=fds[0])

    def status(self, pid: int) -> int:
        """How a worker it forked ended, once it has (its wait status; it is reaped), or
        ``UNKNOWN`` (not its worker, or the spawner is gone).

        Raises:
            SpawnerStuck: it did not answer in time.
        """
        try:
            data, fds = self._ask(b"W", pid)
        except SpawnerStuck:
            raise
        except SpawnerGone:
            return UNKNOWN
        for fd in fds:
            os.close(fd)
        return int(_STATUS.unpack(data)[0])

    def _ask(self, command: bytes, pid: int) -> tuple[bytes, list[int]]:
        """One exchange: the command out, the status (and descriptors) back, in time."""
        if self.broken:
            raise SpawnerGone(errno.EPIPE, "the query worker spawner was replaced")
        if not self._lock.acquire(timeout=self.timeout):
            raise self._stuck()
        try:
            self._control.sendall(_COMMAND.pack(command, pid))
            data, fds, _, _ = socket.recv_fds(self._control, _STATUS.size, 1)
        except TimeoutError:
            raise self._stuck() from None
        except OSError as error:
            self.broken = True
            raise SpawnerGone(errno.EPIPE, f"the query worker spawner is gone: {error}"
                              ) from None
        finally:
            self._lock.release()
        if len(data) != _STATUS.size:
            for fd in fds:
                os.close(fd)
            self.broken = True
            raise SpawnerGone(errno.EPIPE, "the query worker spawner is gone")
        return data, fds

    def _stuck(self) -> SpawnerStuck:
        self.broken = True
        return SpawnerStuck(errno.ETIMEDOUT, "the query worker spawner did not answer within "
                                             f"{self.timeout:g} s and was replaced")

    def kill(self) -> None:
        """Kill the spawner (its workers die with it) and reap it: for one that is stuck."""
        self.broken = True
        if not self._reaped:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        """End the spawner: it kills the workers it still has, and is reaped here. One that
        does not end within the timeout (stopped) is killed."""
        if self._lock.acquire(timeout=self.timeout):  # no other thread is reading it now
            self._control.close()
            self._lock.release()
        deadline = time.monotonic() + self.timeout
        while not self._reaped:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            if done:
                self._reaped = True
            elif time.monotonic() > deadline:
                with suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                deadline = math.inf  # dead soon: wait for it
            else:
                time.sleep(0.005)


def _spawner_main(control: socket.socket, store: ox.Store, settings: PoolSettings,
                  owner: int | None) -> None:
    """Fork workers on request until the owner goes away; never returns.

    ``owner``: the web worker's pid, when the thread that forked this spawner lasts as long as
    the web worker; the spawner then dies with it. In any case it ends when the socket reads
    end of file, which is what a dead owner leaves.
    """
    if owner is not None:
        die_with_parent(owner)
    status = 0
    children: set[int] = set()
    try:
        _name_process(SPAWNER_NAME)
        gc.freeze()
        for name in _SIGNALS_TO_RESET:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with suppress(ValueError):
            signal.set_wakeup_fd(-1)
        entry = _STORE_FOLDERS.get(id(store))
        folder = entry[1] if entry and entry[0] is store else None
        _close_all_but((_store_descriptors(folder) if folder else set()) | {control.fileno()})
        while (data := _read_exactly(control.fileno(), _COMMAND.size)) is not None:
            command, pid = _COMMAND.unpack(data)
            if command == b"F":
                _fork_for(control, store, settings, children)
            else:
                control.sendall(_STATUS.pack(_wait_for(pid, children)))
    except BaseException:
        status = 70
    for pid in children:  # the owner is gone: so are its workers
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(status)


def _fork_for(control: socket.socket, store: ox.Store, settings: PoolSettings,
              children: set[int]) -> None:
    """Fork one query worker and send its pid and pipe back. The spawner is one thread, so
    every worker it forks dies with it."""
    spawner = os.getpid()
    parent, child = socket.socketpair()
    try:
        pid = os.fork()
    except OSError as error:
        parent.close()
        child.close()
        control.sendall(_STATUS.pack(-(error.errno or errno.EAGAIN)))
        return
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        parent.close()
        control.close()
        _child_main(child.detach(), store, settings, spawner)
    child.close()
    children.add(pid)
    socket.send_fds(control, [_STATUS.pack(pid)], [parent.fileno()])
    parent.close()


def _wait_for(pid: int, children: set[int]) -> int:
    """A worker's wait status, once it has ended (it is reaped), or UNKNOWN."""
    if pid not in children:
        return UNKNOWN
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = UNKNOWN
    children.discard(pid)
    return status


@dataclass
class _Child:
    pid: int
    sock: socket.socket
    generation: int = 0
    #: the spawner that forked it (and alone can wait for it), or None: forked here
    spawner: Spawner | None = None


@dataclass
class PoolStats:
    """What the pool did, for metrics: restarts by cause."""

    restarts: dict[str, int] = field(default_factory=lambda: {"timeout": 0, "crash": 0,
                                                              "busy": 0})


class WorkerPool:
    """Children forked from this process, each running one query at a time.

    Thread-safe: requests take an idle child, or wait up to ``queue_timeout`` for one.
    """

    def __init__(self, store: ox.Store, settings: PoolSettings,
                 on_restart: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.owner = os.getpid()
        self._on_restart = on_restart or (lambda cause: None)
        self._idle: list[_Child] = []
        self._children: dict[int, _Child] = {}
        self._available = threading.Condition()
        self._closed = False
        #: Bumped when the store changes: older children hold an old copy and are replaced.
        self._generation = 0
        #: Forks the children when this process runs several request threads (see Spawner);
        #: retired ones (of an older store) still wait for the children they forked.
        self._spawner: Spawner | None = None
        self._retired: list[Spawner] = []

    def start(self, threaded: bool = False) -> None:
        """Fork the children now, before any query needs them; call with ``threaded`` true,
        while this process is still one thread, when it will run requests in several: the
        children are then forked by a spawner, never by a process with other threads."""
        _prepare_for_fork()
        with self._available:
            if threaded and self._spawner is None and not self._closed:
                self._spawner = Spawner(self.store, self.settings)
            while len(self._children) < self.settings.size:
                self._idle.append(self._spawn())
            self._available.notify_all()

    def _spawn(self) -> _Child:
        """Fork one child (call with the lock held).

        Raises:
            OSError: no child could be forked; SpawnerStuck: the spawner did not answer in
                time, and was replaced.
        """
        if self._spawner is not None:
            if self._spawner.broken:
                self._replace_spawner(self._spawner)
            try:
                pid, sock = self._spawner.spawn()
            except SpawnerStuck:
                self._replace_spawner(self._spawner)
                raise
            except SpawnerGone:
                # killed from outside; replaced, and asked once more
                self._replace_spawner(self._spawner)
                pid, sock = self._spawner.spawn()
            record = _Child(pid, sock, self._generation, self._spawner)
            self._children[pid] = record
            return record
        owner = os.getpid() if forked_by_a_lasting_thread() else None
        parent, child = socket.socketpair()
        try:
            pid = os.fork()
        except BaseException:  # no child (out of processes or memory): keep no socket either
            parent.close()
            child.close()
            raise
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            parent.close()
            _child_main(child.detach(), self.store, self.settings, owner)
        child.close()
        record = _Child(pid, parent, self._generation)
        self._children[pid] = record
        return record

    def _replace_spawner(self, old: Spawner) -> None:
        """Kill a spawner that died or stopped answering, forget its idle workers (they die
        with it), and fork a new one if it was the current one.

        Forking from this process, which now runs threads, is the rare way back: a lock
        another thread holds stays held in the copy. Busy workers of the old spawner die too;
        their requests are answered 503 as after any crash.
        """
        with self._available:
            old.kill()
            if old in self._retired:
                self._retired.remove(old)
            for child in [c for c in self._idle if c.spawner is old]:
                self._idle.remove(child)
                self._children.pop(child.pid, None)
                child.sock.close()
            if old is self._spawner and not self._closed:
                self._spawner = Spawner(self.store, self.settings)

    def run(self, query: str, kwargs: dict[str, Any], slots: ProcessSlots | None = None
            ) -> QueryResult:
        """Run ``execute(store, query, **kwargs)`` in a child, within the deadline.

        Raises:
            QueryError, NotAcceptable: as ``execute`` does.
            Unavailable: timed out, crashed, or no capacity now.
        """
        with self._checked_out() as child:
            started = time.monotonic()
            try:
                _send(child.sock.fileno(), {"query": query, "kwargs": kwargs})
            except OSError:  # died after it was taken (killed from outside): a crash too
                self._crashed(child)
            reply = self._wait(child, started, slots)
        return _decode(*reply)

    @contextmanager
    def _checked_out(self) -> Iterator[_Child]:
        child = self._take()
        healthy = False
        try:
            yield child
            healthy = True
        finally:
            with self._available:
                if healthy and not self._closed and child.generation == self._generation:
                    self._idle.append(child)
                else:
                    self._discard(child)
                    if not self._closed:
                        # a failed fork (no memory, no process left) is retried by the next
                        # request; this one has its answer, or its own error, already
                        with suppress(OSError):
                            self._idle.append(self._spawn())
                self._available.notify()

    def _take(self) -> _Child:
        if os.getpid() != self.owner:
            raise RuntimeError("a worker pool is used only by the process that made it")
        with self._available:
            if len(self._children) < self.settings.size and not self._closed:
                try:
                    self.start()  # the first query, or a child a failed fork did not replace
                except OSError as error:
                    if not self._idle:
                        raise _cannot_fork(error) from None
            if not self._available.wait_for(lambda: self._idle or self._closed,
                                            self.settings.queue_timeout):
                raise Unavailable("every query worker is busy; try again shortly", "busy",
                                  math.ceil(self.settings.queue_timeout))
            if self._closed:
                raise Unavailable("the server is shutting down", "busy")
            child = self._idle.pop()
            if not self._is_running(child):  # died while idle (killed from outside)
                self._on_restart("crash")
                try:
                    child = self._spawn()
                except SpawnerStuck as error:
                    raise _stuck(error) from None
                except OSError as error:
                    raise _cannot_fork(error) from None
            return child

    def _is_running(self, child: _Child) -> bool:
        """Whether an idle child still runs; one that does not is reaped and forgotten.

        An idle child writes nothing, so its pipe turns readable only when it has died (the
        kernel closes its end as it exits, before it can be reaped) or broke the protocol:
        one poll of the pipe tells, where asking its spawner cost a round trip to another
        process on every query. A child found so is killed (if it still runs) and reaped; a
        spawner that does not answer then is replaced, as ``_reap`` does.
        """
        if not _readable(child.sock, 0):
            return True
        self._kill(child)
        self._reap(child)
        return False

    def _wait(self, child: _Child, started: float, slots: ProcessSlots | None
              ) -> tuple[dict[str, Any], bytes]:
        settings = self.settings
        if _readable(child.sock, min(settings.slow_after, settings.deadline)):
            return self._reply(child)
        slot = slots.claim() if slots is not None else None
        if slots is not None and slot is None:
            self._on_restart("busy")
            raise Unavailable("too many long-running queries right now; try again shortly, "
                              "or ask for less", "overloaded", math.ceil(settings.deadline))
        try:
            remaining = settings.deadline - (time.monotonic() - started)
            if remaining > 0 and _readable(child.sock, remaining):
                return self._reply(child)
        finally:
            if slots is not None and slot is not None:
                slots.release(slot)
        self._on_restart("timeout")
        raise Unavailable(f"the query ran longer than {settings.deadline:g} s, the limit of "
                          "this endpoint, and was stopped", "timeout", 1)

    def _reply(self, child: _Child) -> tuple[dict[str, Any], bytes]:
        try:
            message = _receive(child.sock.fileno(), max(self.settings.deadline, 5.0))
        except OSError:
            message = None
        if message is None:
            self._crashed(child)
        if message[0].get("error") == "memory":
            self._on_restart("crash")
            raise Unavailable("the query needed more memory than "
                              f"{self.settings.memory_bytes // 2**20} MiB and was stopped",
                              "crash", 1)
        return message

    def _crashed(self, child: _Child) -> NoReturn:
        """The child died, or is stuck mid-answer: make sure it is dead, reap it, say how."""
        # a child stuck mid-answer is killed; one already dead keeps its own exit status
        self._kill(child)
        cause = self._reap(child)
        self._on_restart("crash")
        raise Unavailable(f"the query stopped its worker ({cause}); the worker was "
                          "replaced. A query that needs more memory than "
                          f"{self.settings.memory_bytes // 2**20} MiB cannot run here",
                          "crash", 1)

    @staticmethod
    def _kill(child: _Child) -> None:
        """SIGKILL a child, unless its spawner was killed: it died with that spawner, and its
        pid, reaped by another process, may name another process by now."""
        if child.spawner is None or not child.spawner.broken:
            with suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)

    def _reap(self, child: _Child) -> str:
        """Wait for a dead child and say how it died."""
        self._children.pop(child.pid, None)
        child.sock.close()
        if child.spawner is not None:
            try:
                status = child.spawner.status(child.pid)
            except SpawnerStuck:
                self._replace_spawner(child.spawner)
                return "its spawner did not answer and was replaced"
            if status == UNKNOWN:
                return "it exited"
        else:
            try:
                _, status = os.waitpid(child.pid, 0)
            except ChildProcessError:
                return "it exited"
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"exit status {os.WEXITSTATUS(status)}"

    def _discard(self, child: _Child) -> None:
        """Kill a child that overran or failed, and reap it."""
        if child.pid in self._children:
            self._kill(child)
            self._reap(child)

    def recycle(self) -> None:
        """The store changed (a curator's update): fork fresh children from it.

        A child holds the store as it was when forked; idle ones are replaced now, busy ones
        when their query ends.
        """
        with self._available:
            self._generation += 1
            if self._spawner is not None:  # it holds the old store: a new one holds the new
                self._retired.append(self._spawner)
                self._spawner = Spawner(self.store, self.settings)
            stale, self._idle = self._idle, []
            for child in stale:
                self._discard(child)
            if not self._closed:
                while len(self._idle) < len(stale):
                    self._idle.append(self._spawn())
            self._available.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def idle(self) -> int:
        return len(self._idle)

    def pids(self) -> list[int]:
        return list(self._children)

    def close(self) -> None:
        """Kill and reap every child (at shutdown); only the owner process does this."""
        if os.getpid() != self.owner:
            return
        with self._available:
            self._closed = True
            for child in list(self._children.values()):
                self._discard(child)
            self._idle.clear()
            for spawner in [*self._retired, *([self._spawner] if self._spawner else [])]:
                spawner.close()
            self._spawner, self._retired = None, []
            self._available.notify_all()


def _cannot_fork(error: OSError) -> Unavailable:
    """No child could be forked (no memory, no process left): 503, not a server error."""
    reason = error.strerror or type(error).__name__
    return Unavailable(f"cannot start a query worker ({reason}); try again shortly", "busy")


def _stuck(error: SpawnerStuck) -> Unavailable:
    """The spawner did not answer in time and was replaced: 503, counted as a crash (a
    process of the pool failed and was forked anew)."""
    return Unavailable(f"{error.strerror}; try again shortly", "crash", 1)


def _readable(sock: socket.socket, timeout: float) -> bool:
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(timeout, 0) * 1000))


def _decode(header: dict[str, Any], body: bytes) -> QueryResult:
    """The child's answer as a result, or its error raised again here."""
    error = header.get("error")
    if error == "not_acceptable":
        raise NotAcceptable([BY_NAME[name] for name in header["offers"]])
    if error == "query":
        cls = query.ResultTooLarge if header.get("class") == "ResultTooLarge" else QueryError
        messages = header.get("messages")
        raise cls(str(header["message"]), str(header["reason"]),
                  {str(k): str(v) for k, v in messages.items()}
                  if isinstance(messages, dict) else None)
    if error is not None:
        raise RuntimeError(f"query worker error: {error}")
    return QueryResult(body, BY_NAME[header["format"]])


def _prepare_for_fork() -> None:
    """Import now what a child needs later: a child may open no file, so cannot import."""
    from rdflib.plugins.sparql import parser  # noqa: F401


# --------------------------------------------------------------------------------------------
# One task in a box: a curator's update, an uploaded document's parse


#: What ``ps`` calls a process running one boxed task.
BOXED_NAME = "hodo-boxed"


class TaskRefused(Exception):
    """Raised by a boxed task when its input is at fault; the message is the client's."""


def run_boxed(task: Callable[[], tuple[dict[str, Any], bytes]], settings: PoolSettings,
              what: str = "the request") -> tuple[dict[str, Any], bytes]:
    """Run ``task`` in a child forked from this process, boxed in as a query worker is: its
    memory capped, its CPU time bounded, no socket and no new file, killed at the deadline.
    The child sees this process's memory as it was at the fork and changes only its own copy,
    so what the task computes comes back as a header and bytes, and a crash, a hang or an
    exhausted cap leaves this process as it was.

    Raises:
        TaskRefused: the task refused its input (its message, for a 400).
        Unavailable: the task overran the deadline (``timeout``), ran out of memory or died
            (``crash``), or no child could be forked (``busy``).
    """
    _prepare_for_fork()
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:
        os.close(read_fd)
        os.close(write_fd)
        raise _cannot_fork(error) from None
    if pid == 0:
        os.close(read_fd)
        _boxed_child(write_fd, task, settings)
    os.close(write_fd)
    started = time.monotonic()
    try:
        message = _receive(read_fd, timeout=settings.deadline)
    finally:
        os.close(read_fd)
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if message is None and time.monotonic() - started < settings.deadline:
        raise Unavailable(f"{what} failed (its process died, out of memory or CPU time); "
                          "nothing was changed", "crash")
    return _boxed_answer(message, settings, what)


def _boxed_child(fd: int, task: Callable[[], tuple[dict[str, Any], bytes]],
                 settings: PoolSettings) -> NoReturn:
    status = 0
    try:
        _name_process(BOXED_NAME)
        fd = _box_in(fd, settings)
        _cap_cpu(settings.deadline)
        # a wall clock too: forked by a request thread, it may not ask to die with its
        # parent (hodo.core.lifetime), and a task that waits uses no CPU time
        signal.alarm(math.ceil(settings.deadline) + 2)
        try:
            header, body = task()
        except TaskRefused as error:
            _send(fd, {"refused": str(error)})
        except MemoryError:
            _send(fd, {"error": "memory"})
        else:
            _send(fd, {"answer": header}, body)
    except BaseException:  # the parent sees the end of file and reports a crash
        status = 70
    os._exit(status)


def _boxed_answer(message: tuple[dict[str, Any], bytes] | None, settings: PoolSettings,
                  what: str) -> tuple[dict[str, Any], bytes]:
    if message is None:
        raise Unavailable(f"{what} did not finish within {settings.deadline:g} s; nothing was "
                          "changed", "timeout")
    header, body = message
    if "refused" in header:
        raise TaskRefused(str(header["refused"]))
    if "answer" not in header:
        raise Unavailable(f"{what} needed more memory than allowed; nothing was changed",
                          "crash")
    return header["answer"], body
