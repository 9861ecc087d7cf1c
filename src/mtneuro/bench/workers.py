"""Set up a worker process of ``bench --jobs N``, and end it soon after the bench has ended.

A bench killed outright (``kill -9``, the out-of-memory killer) cannot stop its workers: they
used to finish their cell, write it into OUT (racing a later ``--resume`` or ``--overwrite``
there), then wait for work for good, each holding its memory. So each worker watches its
parent, as a daemon thread, and exits at once with :func:`os._exit` when it has ended. The
parent's sentinel (:func:`multiprocessing.parent_process`: a pipe on POSIX, a process handle on
Windows) is ready once the parent has ended, on every OS; :func:`os.getppid` changing (the
worker re-parented to init or a subreaper) is watched too, but on its own it never changes on
Windows, where a process keeps its parent's pid after that parent has ended. The
cell it was running writes no record: the next ``--resume`` runs it again (records are
written atomically, so none is left half-written; a temporary file is cleaned up by that
run).

``prctl(PR_SET_PDEATHSIG)`` would be quicker, but is Linux only and fires when the *thread*
that started the worker ends: a pool starts its workers from the thread that submits the
cells, which need not be the main thread (:func:`~mtneuro.bench.runner.run_suite` called
from a thread, a pool left to finish after it returned).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.connection import wait

from mtneuro import warning_lines

#: seconds between two looks at the parent: a worker outlives its bench by at most this
PARENT_POLL_S = 0.5
#: exit status of a worker whose bench has gone (read by no one: its parent is gone)
ORPHANED_EXIT = 1


def init_worker(shown: tuple[str, ...], parent: int) -> None:
    """A pool's initializer: show warnings as the CLI does, ``shown`` (those the bench has
    shown already) counting as shown, and exit once process ``parent``, the bench, has ended.

    ``parent`` is the bench's pid, passed from it: read here, it would already be that of
    init in a worker that started after the bench died.
    """
    warning_lines.install(shown)
    threading.Thread(target=watch_parent, args=(parent,), name="mtneuro-bench-parent",
                     daemon=True).start()


def watch_parent(parent: int, poll_s: float = PARENT_POLL_S) -> None:
    """Return only by ending this process, once its parent ``parent`` has ended: its
    :mod:`multiprocessing` sentinel is ready, or this process has another parent."""
    process = multiprocessing.parent_process()  # None: not started by multiprocessing
    while os.getppid() == parent:
        if process is None:
            time.sleep(poll_s)
        elif wait([process.sentinel], timeout=poll_s):
            break
    ddp = sys.modules.get("mtneuro.bench.ddp")  # not imported: this process launched none
    if ddp is not None:
        ddp.stop_launched()  # torchrun would go on without its cell
    # at once, from this thread: an exception or SystemExit would reach the cell's code,
    # which records it as the cell's failure
    os._exit(ORPHANED_EXIT)
