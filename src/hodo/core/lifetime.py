"""Processes that die with their parent: no web worker, spawner or query worker outlives the
process that forked it.

A child forked by ``hodo serve`` (a web worker), by a web worker (a spawner, a query worker, a
validation) or by a spawner (a query worker) asks the kernel, right after ``fork``, for SIGKILL
when its parent goes (Linux ``prctl(PR_SET_PDEATHSIG)``): even a parent killed with SIGKILL,
which runs no clean-up of its own, takes its children with it, so no orphan goes on serving the
port or holding memory.

The kernel sends that signal when the *thread* that forked the child ends, not the process: a
child forked by a thread that may end first (a request thread of a thread pool that retires
idle threads) must not ask for it, or it would be killed while its parent still needs it. Such
a child watches a pipe to its parent instead, which reads end of file when the parent is gone
(see ``hodo.engine.workers``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import suppress

#: ``prctl`` option: the signal this process gets when its parent (thread) ends.
_PR_SET_PDEATHSIG = 1


def forked_by_a_lasting_thread() -> bool:
    """Whether a child forked now, by this thread, may ask to die with it: only the main
    thread lasts as long as its process (threads of a pool may end while the process lives)."""
    return threading.current_thread() is threading.main_thread()


def die_with_parent(parent: int) -> bool:
    """Ask for SIGKILL when the parent ends; call in the child right after ``fork``.

    ``parent`` is the pid of the process that forked this one, read *before* the fork: when it
    died before the request took effect the child has a new parent already, and exits now
    (that race is the only way to miss the signal). Returns False, having changed nothing,
    where the kernel offers no such request (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    armed = False
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(1)  # the parent is gone already
    return armed
