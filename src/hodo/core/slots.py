"""A table of slots shared by the processes of one server, each held by a live process.

Made before the web server forks, so that every web worker, and every process they fork, sees
the same table. A slot whose holder died is free again, so a process killed while it held one
(a query worker stopped at its deadline, a web worker the server replaced) never keeps it.
Used to admit only so many slow queries or validations at once, and to give each web worker
its own share of the machine's cores, cut by ``consecutive_runs`` (which the benchmark also
uses to cut its requests into runs: this module imports nothing heavy).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class ProcessSlots:
    """``count`` slots, each free or held by the pid that claimed it."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.count = count
        self._pids = context.RawArray("i", max(count, 1))
        self._lock = context.Lock()

    def claim(self) -> int | None:
        """A slot index, now held by this process; None when every slot is held by a live
        process (or the table's lock could not be had within a second)."""
        if self.count <= 0 or not self._lock.acquire(timeout=1):
            return None
        try:
            for index in range(self.count):
                pid = self._pids[index]
                if pid == 0 or not alive(pid):
                    self._pids[index] = os.getpid()
                    return index
            return None
        finally:
            self._lock.release()

    def release(self, index: int) -> None:
        self._pids[index] = 0

    def held(self) -> int:
        """How many slots are held now (for metrics)."""
        return sum(1 for index in range(self.count) if self._pids[index] != 0)


def alive(pid: int) -> bool:
    """Whether a process of this pid exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def consecutive_runs(items: Sequence[T], count: int) -> list[Sequence[T]]:
    """``items`` cut into ``count`` consecutive runs whose lengths differ by one at most, the
    longer first (an empty run where there are fewer items than runs).

    >>> consecutive_runs(range(10), 4)
    [range(0, 3), range(3, 6), range(6, 8), range(8, 10)]
    """
    size, extra = divmod(len(items), count)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        runs.append(items[start:end])
        start = end
    return runs
