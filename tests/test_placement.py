"""Where a server's processes run: each web worker, with its spawner and query workers, keeps to
a share of the machine's cores of its own (``HODO_PIN_CORES``), claimed from a table every web
worker sees; a web worker the server replaces takes over the share of the one that died.

Checked on the kernel's own record (``/proc/PID/task/TID/status``), of every thread of every
process, through forked processes and a real ``hodo serve``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hodo.core.slots import ProcessSlots
from hodo.web.wsgi import CorePlacement, core_shares
from tests.support.server import Server, descendants, poll, serving

CORES = sorted(os.sched_getaffinity(0))
needs_two_cores = pytest.mark.skipif(len(CORES) < 2, reason="pinning needs two cores or more")


def affinity(pid: int) -> set[frozenset[int]]:
    """The distinct core sets the threads of ``pid`` may run on, as the kernel reports them."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                found.add(frozenset(_cores(line.split(":", 1)[1].strip())))
    return found


def _cores(listing: str) -> set[int]:
    """``0-2,5`` as {0, 1, 2, 5}."""
    cores: set[int] = set()
    for part in listing.split(","):
        low, _, high = part.partition("-")
        cores.update(range(int(low), int(high or low) + 1))
    return cores


# --------------------------------------------------------------------------------------------
# The shares


@pytest.mark.parametrize(("count", "workers", "sizes"), [
    (2, 2, [1, 1]), (5, 2, [3, 2]), (8, 3, [3, 3, 2]), (4, 1, [4]), (16, 4, [4, 4, 4, 4])])
def test_the_cores_are_split_into_one_run_each_using_every_core(
        count: int, workers: int, sizes: list[int]) -> None:
    cores = list(range(10, 10 + count))  # numbers need not start at 0
    shares = core_shares(cores, workers)
    assert [len(share) for share in shares] == sizes
    assert sorted(core for share in shares for core in share) == cores
    for share in shares:
        assert share == frozenset(range(min(share), max(share) + 1)), "not consecutive"


@pytest.mark.parametrize(("count", "workers"), [(1, 2), (2, 3), (3, 4), (4, 0)])
def test_nothing_is_pinned_with_fewer_cores_than_web_workers(count: int, workers: int) -> None:
    assert core_shares(list(range(count)), workers) == []


# --------------------------------------------------------------------------------------------
# Claiming a share, in forked processes


def _forked(action: Callable[[], object]) -> tuple[int, int]:
    """Fork a child that runs ``action``, writes its affinity, then waits to be killed;
    returns its pid and the read end of its pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            action()
            os.write(write, ",".join(map(str, sorted(os.sched_getaffinity(0)))).encode() + b"\n")
            signal.pause()
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def _said(read: int) -> set[int]:
    with os.fdopen(read) as pipe:
        line = pipe.readline().strip()
    assert line, "the child did not get as far as saying where it runs"
    return {int(core) for core in line.split(",")}


@pytest.fixture()
def children() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@needs_two_cores
def test_each_web_worker_takes_a_share_of_its_own_and_a_replacement_the_one_freed(
        children: list[int]) -> None:
    placement = CorePlacement(2)
    shares = placement.shares
    assert len(shares) == 2

    first, pipe = _forked(placement.take)
    children.append(first)
    taken = [frozenset(_said(pipe))]
    second, pipe = _forked(placement.take)
    children.append(second)
    taken.append(frozenset(_said(pipe)))
    assert sorted(taken, key=min) == sorted(shares, key=min), "not one share each"

    # a third, while both live, finds no share and is left where it was
    third, pipe = _forked(lambda: placement.take() is None or os._exit(3))
    children.append(third)
    assert _said(pipe) == set(CORES)

    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    children.remove(first)
    replacement, pipe = _forked(placement.take)
    children.append(replacement)
    assert frozenset(_said(pipe)) == taken[0], "the freed share was not taken over"


def test_the_shares_are_cut_from_the_cores_the_server_may_use(children: list[int]) -> None:
    """A server started on fewer cores (a container's CPU set, ``taskset``) shares out those
    alone; with fewer of them than web workers it pins nothing."""
    def restricted() -> None:
        os.sched_setaffinity(0, {CORES[-1]})
        one, two = CorePlacement(1), CorePlacement(2)
        if one.shares != [frozenset({CORES[-1]})] or two.shares != []:
            os._exit(3)

    pid, pipe = _forked(restricted)
    children.append(pid)
    assert _said(pipe) == {CORES[-1]}


def test_with_pinning_off_a_web_worker_stays_where_it_was(children: list[int]) -> None:
    placement = CorePlacement(len(CORES), enabled=False)
    assert placement.shares == []
    pid, pipe = _forked(lambda: placement.take() is None or os._exit(3))
    children.append(pid)
    assert _said(pipe) == set(CORES)


def test_a_slot_held_by_a_dead_process_is_free_again(children: list[int]) -> None:
    slots = ProcessSlots(1)
    holder, pipe = _forked(lambda: slots.claim() == 0 or os._exit(3))
    children.append(holder)
    _said(pipe)
    assert slots.claim() is None, "a slot held by a live process was given again"
    os.kill(holder, signal.SIGKILL)
    os.waitpid(holder, 0)
    children.remove(holder)
    assert slots.claim() == 0


# --------------------------------------------------------------------------------------------
# A real server


def _web_workers(server: Server) -> dict[int, set[int]]:
    """Each live web worker (a child of the server) with the processes below it."""
    tree = descendants(server.process.pid)
    found = {}
    for pid in tree:
        if _parent(pid) == server.process.pid:
            found[pid] = descendants(pid)
    return found


def _parent(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]) if fields[0] not in ("Z", "X") else None


def _settled(server: Server, web_workers: int, below: int) -> dict[int, set[int]] | None:
    """The web workers once there are ``web_workers`` of them, each with ``below`` processes
    (its spawner and query workers) forked and running; None before."""
    found = _web_workers(server)
    if len(found) != web_workers or any(len(tree) < below for tree in found.values()):
        return None
    return found


def _share_of(pid: int, tree: set[int]) -> frozenset[int]:
    """The one core set every thread of a web worker and of every process below it keeps to."""
    sets = set().union(*(affinity(p) for p in {pid, *tree}))
    assert len(sets) == 1, f"web worker {pid} and its processes are not kept together: {sets}"
    return next(iter(sets))


@pytest.mark.server
@needs_two_cores
@pytest.mark.parametrize(("args", "below"), [([], 3), (["--server", "gunicorn"], 2)],
                         ids=["granian", "gunicorn"])
def test_hodo_serve_keeps_each_web_worker_and_its_query_workers_to_a_share(
        release_dir: Path, tmp_path: Path, args: list[str], below: int) -> None:
    """Under Granian a spawner and two query workers are below each web worker; under
    gunicorn, whose web workers run one request at a time, the two query workers alone."""
    with serving(release_dir, tmp_path / "serve.log", workers=2, args=args) as server:
        workers = poll(lambda: _settled(server, 2, below), "both web workers started")
        shares = {pid: _share_of(pid, tree) for pid, tree in workers.items()}
        assert sorted(shares.values(), key=min) == core_shares(CORES, 2)
        assert server.query("ASK { ?s ?p ?o }").status == 200

        killed = min(shares)
        os.kill(killed, signal.SIGKILL)
        replaced = poll(lambda: (found := _settled(server, 2, below)) and killed not in found
                         and found, "the killed web worker replaced")
        (new,) = set(replaced) - set(shares)
        assert _share_of(new, replaced[new]) == shares[killed]


@pytest.mark.server
def test_hodo_serve_with_pinning_off_leaves_placement_to_the_kernel(
        release_dir: Path, tmp_path: Path) -> None:
    with serving(release_dir, tmp_path / "serve.log", workers=2, pin_cores="0") as server:
        workers = poll(lambda: _settled(server, 2, 3), "both web workers started")
        for pid, tree in workers.items():
            assert _share_of(pid, tree) == frozenset(CORES)
