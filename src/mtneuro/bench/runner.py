"""Run a suite's cells: keep finished ones, run the rest in-process, in parallel or on SLURM.

Executors:

* ``local`` with ``jobs=1``: cells run one after another in this process;
* ``local`` with ``jobs=N``: N worker processes (spawned, so CUDA and threads
  start clean), each cell with ``max(1, cpus // N)`` torch threads, ``cpus`` being the CPUs the
  process may use (:func:`mtneuro.threads.usable_cpus`: affinity, cgroup quota,
  ``OMP_NUM_THREADS``, less the cores other processes keep busy at start);
  ``jobs="auto"`` picks N (:func:`resolve_jobs`);
* ``slurm``: one submitit job per cell on a SLURM cluster (parameters such as
  ``slurm_partition``, ``timeout_min``, ``gpus_per_node`` via ``executor_params``);
* ``submitit-local``: submitit's LocalExecutor, the same code path as ``slurm``
  on this machine (used by the tests and to check a cluster setup).

Every cell writes its own record (:mod:`mtneuro.bench.cell`), so results from
any mix of executors and machines merge in one directory; the suite's cell ids go to
``DIR/suite_cells.json`` with their definitions, so its report leaves out records of other
suites run there and those of its cells defined otherwise, not rerun yet
(:data:`~mtneuro.report.suite_cells.SUITE_CELLS`). A task error is recorded and the
suite goes on; a worker process that dies takes down the cells running beside it,
which run again, each alone (:func:`_run_pool`); Ctrl-C (and SIGTERM, see
:func:`sigterm_as_interrupt`) cancels what is running and leaves the finished records,
and ``resume=True`` then runs only the rest.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtneuro import warning_lines
from mtneuro.bench.cell import (
    CELLS_DIR,
    cell_dir,
    read_record,
    record_failure,
    record_skipped,
    run_cell,
    volume_source,
)
from mtneuro.bench.checks import check_cells
from mtneuro.bench.executors import check_executor, submitit_executor
from mtneuro.bench.plan import changed_line, earlier_run, why_new
from mtneuro.bench.progress import PROGRESS_FILE, CellState, Progress
from mtneuro.bench.signals import on_sigterm
from mtneuro.bench.suite import Cell
from mtneuro.bench.windows import capped_jobs
from mtneuro.bench.workers import init_worker
from mtneuro.errors import ConfigError
from mtneuro.progress import publishing_to
from mtneuro.registry import check_choice
from mtneuro.report.suite_cells import write_suite_cells
from mtneuro.tasks.registry import get_task, task_reference
from mtneuro.threads import available_cpus, threads_per_job

EXECUTORS = ("local", "slurm", "submitit-local")
_POLL_S = 0.5


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite.

    Attributes:
        out_dir: suite directory; cells go to ``out_dir/cells/<id>/``.
        resume: keep cells whose complete record matches their definition (status
            ``earlier``, "done earlier"); a cell whose definition changed since its record
            is rerun, saying so in one line.
        jobs: cells at once (``local``, ``submitit-local``; ``slurm`` submits all), or
            ``"auto"`` (:func:`resolve_jobs`).
        executor: one of :data:`EXECUTORS`.
        executor_params: submitit ``update_parameters`` keywords (slurm).
        quiet: no live table or per-cell lines (the lines naming rerun cells remain).
        suite: the suite's name, recorded with its cell ids for the report.
    """

    out_dir: Path
    resume: bool = False
    jobs: int | str = 1
    executor: str = "local"
    executor_params: dict[str, Any] | None = None
    quiet: bool = False
    suite: str = ""


def resolve_jobs(jobs: int | str, pending: int, *, cuda: bool | None = None) -> int:
    """How many cells run at once: at most one per pending cell (each job's share of the
    cores, :func:`~mtneuro.threads.threads_per_job`, would leave the rest idle), and
    ``jobs`` itself, or for ``"auto"`` one process per CPU this process may use
    (:func:`~mtneuro.threads.available_cpus`), and 1 where a CUDA device is visible (the
    cells would share it).

    ``"auto"`` counts the CPUs before subtracting the ones other processes keep busy:
    separate processes never wait for each other, so beside busy neighbours each still
    runs at its fair share of a core, whereas the threads of one process stall at every
    parallel region when one of them is descheduled (:mod:`mtneuro.threads`). Each job's
    threads still come from :func:`~mtneuro.threads.threads_per_job`.

    Raises:
        ConfigError: ``jobs`` is neither ``"auto"`` nor an int >= 1.
    """
    if jobs == "auto":
        if cuda is None:
            import torch

            cuda = torch.cuda.is_available()
        return 1 if cuda else max(1, min(available_cpus(), pending))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs: expected 'auto' or int >= 1, got {jobs!r}")
    return max(1, min(jobs, pending))


def run_suite(cells: list[Cell], options: RunOptions) -> list[CellState]:
    """Run ``cells`` (see the module docstring); returns each cell's final state.

    Raises:
        ConfigError: bad executor, task or setting (nothing has run).
        KeyboardInterrupt: after cancelling running cells (records of finished ones stay).
    """
    check_choice("executor", options.executor, EXECUTORS)
    check_executor(options.executor, options.executor_params)  # before anything is written
    resolve_jobs(options.jobs, 1, cuda=False)  # a bad value fails before anything runs
    check_cells(cells)
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # with their definitions: until --resume reruns a changed cell, the report leaves out
    # its earlier record, which the suite now defines otherwise
    write_suite_cells(out, options.suite, [cell.id for cell in cells],
                      {cell.id: cell.to_dict() for cell in cells})
    states = [CellState(cell) for cell in cells]
    notes: list[str] = []  # why --resume reruns a cell it has a record of
    for state in states:
        earlier = earlier_run(out, state.cell) if options.resume else "new"
        if earlier == "kept":
            record = read_record(out, state.cell.id) or {}
            state.status, state.wall_s = "earlier", record.get("wall_s")
            state.headline = record.get("headline") or {}
        elif earlier == "changed":
            notes.append(changed_line(state.cell, out))
        elif options.resume and (why := why_new(out, state.cell)) is not None:
            notes.append(f"{why}: rerunning {state.cell.id}")
    pending = [s for s in states if s.status == "pending"]
    jobs, capped = capped_jobs(resolve_jobs(options.jobs, len(pending)), options.jobs)
    notes += [capped] if capped else []  # Windows: a pool takes at most 61 workers
    parallel = jobs if options.executor != "slurm" else max(1, len(pending))
    with Progress(states, parallel=parallel, quiet=options.quiet,
                  cells_dir=out / CELLS_DIR) as progress:
        for note in notes:
            progress.note(note)
        try:
            if options.executor == "local" and jobs == 1:
                _run_inline(pending, out, progress)
            elif options.executor == "local":
                _run_pool(pending, out, jobs, progress)
            else:
                _run_submitit(pending, out, jobs, options, progress)
        except KeyboardInterrupt:
            for state in pending:
                if state.status in ("pending", "running"):
                    state.status = "cancelled"
            progress.refresh()
            raise
        progress.refresh()
    return states


def run_cell_publishing(cell: Cell, task: str, out: Path, *, threads: int | None = None
                        ) -> dict[str, Any]:
    """:func:`~mtneuro.bench.cell.run_cell`, its loops publishing their progress to the
    cell's ``progress.json`` for the live table (in whichever process runs the cell)."""
    directory = cell_dir(out, cell.id)
    directory.mkdir(parents=True, exist_ok=True)
    with publishing_to(directory / PROGRESS_FILE):
        return run_cell(cell, task, out, threads=threads)


def _finish(state: CellState, outcome: dict[str, Any]) -> None:
    state.status = outcome["status"]
    state.wall_s = outcome.get("wall_s")
    state.headline = outcome.get("headline") or {}
    state.error = outcome.get("error")


def _skip_unreachable(done: CellState, queue: list[CellState], out: Path) -> None:
    """After ``done`` found its volume source unreachable (its retries spent), the queued
    cells that read the same source are skipped, not each left to spend them again."""
    if not (done.status == "failed" and str(done.error).startswith("SourceUnavailableError")):
        return
    same = [s for s in queue if get_task(s.cell.task).volume
            and volume_source(s.cell) == volume_source(done.cell)]
    for state in same:
        queue.remove(state)
        _finish(state, record_skipped(out, state.cell, f"source {done.cell.source} unreachable "
                                      f"(cell {done.cell.id} tried); not tried again"))


def _run_inline(pending: list[CellState], out: Path, progress: Progress) -> None:
    queue = list(pending)
    while queue:
        state = queue.pop(0)
        state.status, state.started = "running", time.perf_counter()
        progress.refresh()
        _finish(state, run_cell_publishing(state.cell, task_reference(state.cell.task), out))
        _skip_unreachable(state, queue, out)
        progress.refresh()


def _new_pool(jobs: int) -> cf.ProcessPoolExecutor:
    # workers show warnings as the CLI does, less those this process has shown already, and
    # exit soon after this process ends, even killed outright (kill -9): see bench.workers
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=init_worker,
                                  initargs=(tuple(warning_lines.SHOWN), os.getpid()))


class WorkerDied(RuntimeError):
    """A cell's worker process died (killed, e.g. for memory, or ``os._exit``) while it
    ran alone: the cell, not one beside it, ended the process."""


def _run_pool(pending: list[CellState], out: Path, jobs: int, progress: Progress) -> None:
    """Run ``pending`` on ``jobs`` worker processes.

    A worker that dies breaks the pool and every cell running in it, and which cell ended
    the process is unknown: those cells run again after the others, each alone in its own
    pool (and with the threads it had), and the one whose worker dies again fails.
    """
    threads = threads_per_job(jobs)
    for state in _pool_pass(list(pending), out, jobs, threads, progress):
        _pool_pass([state], out, 1, threads, progress)


def _death(processes: list[Any]) -> str:
    """How the worker of a one-worker pool ended: ``signal 9, SIGKILL``, ``exit code 3``."""
    for process in processes:
        process.join(timeout=5)
        code = process.exitcode
        # the pool's own thread may be reaping the same child: waitpid then fails here and
        # exitcode reads None until that thread has stored the status
        for _ in range(50):
            if code is not None:
                break
            time.sleep(0.1)
            code = process.exitcode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"signal {-code}, {signal.Signals(-code).name}"
            return f"signal {-code}"
        if code:
            return f"exit code {code}"
    return "cause unknown"


def _pool_pass(queue: list[CellState], out: Path, jobs: int, threads: int,
               progress: Progress) -> list[CellState]:
    """Run ``queue`` on one pool (a new one after a worker dies); returns the cells that
    were running when a worker died, or with one worker, records them failed."""
    pool = _new_pool(jobs)
    futures: dict[cf.Future[dict[str, Any]], CellState] = {}
    processes: dict[int, Any] = {}
    suspects: list[CellState] = []
    try:
        while queue or futures:
            # No more cells in the pool than workers: the pool marks a queued cell running
            # (future.running()) as soon as it enters its call queue, before any worker takes
            # it. With one cell per worker, a submitted cell starts at once (the first ones
            # once their worker process is up), so its clock starts here.
            while queue and len(futures) < jobs:
                state = queue[0]
                try:
                    future = pool.submit(run_cell_publishing, state.cell,
                                         task_reference(state.cell.task), out, threads=threads)
                except BrokenProcessPool:
                    if futures:
                        break  # their futures fail in a moment and are handled below
                    pool.shutdown(wait=False)  # a worker died idle: none of ours went with it
                    pool, processes = _new_pool(jobs), {}
                    continue
                queue.pop(0)
                futures[future] = state
                state.status, state.started = "running", time.perf_counter()
                # listed now: a broken pool forgets its processes, and with them how one ended
                processes.update(getattr(pool, "_processes", None) or {})
            progress.refresh()
            done, _ = cf.wait(futures, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
            broken, fresh = False, []
            for future in done:
                state = futures.pop(future)
                try:
                    _finish(state, future.result())
                except BrokenProcessPool:
                    broken = True
                    if jobs > 1:
                        fresh.append(state)
                        continue
                    died = WorkerDied(f"worker process died ({_death(list(processes.values()))}) "
                                      "running this cell alone")
                    _finish(state, record_failure(out, state.cell, died, wall_s=None))
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - recorded, the suite goes on
                    _finish(state, record_failure(out, state.cell, exc, wall_s=None))
                _skip_unreachable(state, queue, out)
            if broken:
                # every future of a broken pool fails: those not yet seen are suspects too
                for future in list(futures):
                    if future.done() and future.exception() is None:  # ended just before
                        _finish(futures.pop(future), future.result())
                fresh += [futures.pop(f) for f in list(futures)]
                for state in fresh:
                    state.status = "pending"
                suspects += fresh
                if fresh:
                    progress.note("a worker process died: the cells it ran beside run again, each "
                                  f"alone, after the others "
                                  f"({', '.join(s.cell.id for s in fresh)})")
                pool.shutdown(wait=False)
                pool, processes = _new_pool(jobs), {}
        progress.refresh()
    except KeyboardInterrupt:
        # shutdown() does not stop running cells, and the pool has no public kill: terminate
        # its processes (listed first: shutdown forgets them).
        processes.update(getattr(pool, "_processes", None) or {})
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            process.terminate()
        raise
    pool.shutdown(wait=True)
    return suspects


def sigterm_as_interrupt() -> contextlib.AbstractContextManager[None]:
    """SIGTERM to this process raises ``KeyboardInterrupt`` meanwhile, as Ctrl-C does: the
    runner then terminates its worker processes and marks running cells cancelled (by
    default SIGTERM ends the process at once and leaves the workers running). Only the
    main thread may set signal handlers; elsewhere this does nothing.

    A Python handler installed before (the CLI's, :func:`mtneuro.cli.main.main`) is called
    first: the ``KeyboardInterrupt`` it raises (the CLI's ``Terminated``: exit status 143,
    "terminated (SIGTERM)") is the one raised; anything else it does or raises still ends
    in a ``KeyboardInterrupt``, the one exception the runner cleans up after."""

    def interrupt(signum: int, frame: Any, previous: Any) -> None:
        if callable(previous):
            try:
                previous(signum, frame)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit, say, would skip the clean-up
                raise KeyboardInterrupt(f"signal {signum} (SIGTERM)") from exc
        raise KeyboardInterrupt(f"signal {signum} (SIGTERM)")

    return on_sigterm(interrupt)


def _submitit_executor(out: Path, options: RunOptions) -> Any:
    return submitit_executor(out / "submitit" / "%j", options.executor, options.executor_params)


def _run_submitit(pending: list[CellState], out: Path, jobs_at_once: int, options: RunOptions,
                  progress: Progress) -> None:
    executor = _submitit_executor(out, options)
    limit = len(pending) if options.executor == "slurm" else jobs_at_once
    threads = None if options.executor == "slurm" else threads_per_job(jobs_at_once)
    queue = list(pending)
    jobs: dict[Any, CellState] = {}
    try:
        while queue or jobs:
            while queue and len(jobs) < limit:
                state = queue.pop(0)
                job = executor.submit(run_cell_publishing, state.cell,
                                      task_reference(state.cell.task), out, threads=threads)
                jobs[job] = state
            for job, state in list(jobs.items()):
                if job.done():
                    del jobs[job]
                    error = job.exception()
                    if error is None:
                        _finish(state, job.result())
                    else:  # the job itself failed (timeout, node failure, killed)
                        _finish(state, record_failure(out, state.cell, error, wall_s=None))
                    _skip_unreachable(state, queue, out)
                elif state.status == "pending" and job.state in ("RUNNING", "COMPLETING"):
                    state.status, state.started = "running", time.perf_counter()
            progress.refresh()
            if jobs:
                time.sleep(_POLL_S)
    except KeyboardInterrupt:
        for job in jobs:
            job.cancel(check=False)
        raise
