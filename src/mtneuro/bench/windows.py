"""What the bench cannot do on Windows, refused (or, for ``--jobs``, capped) before any cell
runs, rather than failing each cell later.

* ``--executor slurm`` / ``submitit-local``: submitit starts, times out and stops its jobs
  with POSIX signals (``SIGUSR2``, ``SIGKILL``, ...), which Windows lacks.
* pre-training under torchrun (``--ddp-procs`` / suite key ``ddp.nproc_per_node`` above 1):
  stopping it (Ctrl-C, a failed cell, an orphaned worker) is ``TerminateProcess`` on Windows,
  which ends torchrun but leaves its training processes running.
* ``--jobs`` above :data:`WINDOWS_MAX_JOBS`: a process pool waits on its workers' handles, and
  Windows waits on at most 63 at once (less the pool's own two): more workers is a ValueError.

``sys.platform`` is read at each call, so the tests can play Windows.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from mtneuro.bench.suite import Cell
from mtneuro.errors import ConfigError

#: most worker processes a pool takes on Windows (concurrent.futures' own limit)
WINDOWS_MAX_JOBS = 61


def _on_windows() -> bool:
    return sys.platform == "win32"


def refuse_submitit(executor: str) -> None:
    """On Windows, refuse the submitit executors (``slurm``, ``submitit-local``).

    Raises:
        ConfigError: one line naming ``--executor`` and what to use instead.
    """
    if _on_windows() and executor != "local":
        raise ConfigError(f"--executor {executor}: submitit controls its jobs with POSIX "
                          "signals, which Windows lacks; use --executor local (--jobs N runs "
                          "N cells at once)")


def refuse_ddp(cells: Iterable[Cell], option: str | None = None) -> None:
    """On Windows, refuse cells that pre-train under torchrun (``ddp_procs`` above 1).

    Args:
        option: the command-line option that set the process count (``--ddp-procs``);
            None: the suite's key, named with the cell.

    Raises:
        ConfigError: one line naming the option (or the cell and key), its value and the way
            out.
    """
    if not _on_windows():
        return
    for cell in cells:
        if cell.ddp_procs > 1:
            given = (f"{option} {cell.ddp_procs}" if option
                     else f"cell {cell.id}: ddp.nproc_per_node {cell.ddp_procs}")
            raise ConfigError(f"{given}: pre-training under torchrun is not supported on "
                              "Windows (stopping it there leaves its processes running); use "
                              "--ddp-procs 1 (pre-train in the cell's process) or run the "
                              "bench on Linux or macOS")


def capped_jobs(jobs: int, asked: int | str) -> tuple[int, str | None]:
    """``jobs`` cells at once, capped at :data:`WINDOWS_MAX_JOBS` on Windows, with the note
    saying so (None when not capped); ``asked`` is the ``--jobs`` value, named by the note."""
    if not _on_windows() or jobs <= WINDOWS_MAX_JOBS:
        return jobs, None
    shown = f"auto ({jobs})" if asked == "auto" else str(asked)
    return WINDOWS_MAX_JOBS, (f"--jobs {shown}: Windows runs at most {WINDOWS_MAX_JOBS} worker "
                              f"processes in a pool; running {WINDOWS_MAX_JOBS} cells at once")
