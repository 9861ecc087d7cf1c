"""A cell's SSL pre-training under ``torchrun`` (suite key ``ddp: {nproc_per_node: N}``).

A cell with ``ddp_procs`` N > 1 (see :func:`mtneuro.bench.suite.expand`) runs, in
the process that runs the cell (a local worker or a submitit / SLURM job)::

    python -m torch.distributed.run --standalone --nproc_per_node N \\
        -m mtneuro.cli.main pretrain --config CELL/pretrain/pretrain_config.yaml

waits for it, and then runs the rest of the cell (probe, evaluation, figures) in its
own process with ``--encoder CELL/pretrain/encoder.pt``. The YAML holds the complete
:class:`~mtneuro.tasks.pretrain.config.PretrainConfig` the task would have used to pre-train
in process, so only the process count changes (``mtneuro pretrain`` under torchrun:
gloo on CPU, NCCL with one GPU per process on CUDA; rank 0 writes the files).
torchrun's output goes to ``CELL/pretrain/torchrun.log``; a failed launch fails the
cell with the log's tail. The cell's ``metrics.json`` config records it under ``ddp``.

The processes share the cell's machine: a SLURM job gets them only if it asks for
them (``--executor-param gpus_per_node=N``, ``cpus_per_task=...``); multi-node
training, or SLURM launching the N tasks itself, is not done here.

A task opts in with ``pretrain_methods`` (:class:`~mtneuro.tasks.api.Task`) and a
config with a nested ``pretrain`` (:class:`~mtneuro.tasks.pretrain.config.PretrainConfig`,
set when the config pre-trains on the fly): that pre-training is launched, and the
cell then runs the config with ``encoder`` = the written ``encoder.pt`` and no
``pretrain``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mtneuro.bench.signals import on_sigterm
from mtneuro.errors import ConfigError, TrainingError
from mtneuro.threads import threads_per_job

PRETRAIN_DIR = "pretrain"
LOG_NAME = "torchrun.log"
CONFIG_NAME = "pretrain_config.yaml"
LAUNCHER = "python -m torch.distributed.run --standalone"
TAIL_LINES = 30
_TERMINATE_WAIT_S = 10.0
_RANK_PREFIX = re.compile(r"^\[(rank|default)?\d+\]:\s?")  # torchrun's tag of a process's lines
_ERROR_LINE = re.compile(r"^(error: |\w+(\.\w+)*(Error|Exception): )")  # mtneuro CLI or traceback
#: torchrun launchers this process is waiting for: a bench worker whose bench has been killed
#: stops them before it exits (:mod:`mtneuro.bench.workers`), or they would train on, orphaned
_LAUNCHED: set[subprocess.Popen] = set()


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """``torchrun --standalone --nproc_per_node N -m mtneuro.cli.main ARGS`` with this Python."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(nproc), "-m", "mtneuro.cli.main", *args]


def launch_pretrain(config: Any, nproc: int, out_dir: str | Path, *, threads: int | None = None) -> Path:
    """Run ``mtneuro pretrain`` with ``config`` under torchrun with ``nproc`` processes.

    Args:
        config: a :class:`~mtneuro.tasks.pretrain.config.PretrainConfig`; its ``out_dir`` becomes
            ``out_dir`` (emptied first: a pre-training is never resumed across cell runs).
        threads: CPU threads of the cell, shared among the processes.

    Returns:
        The written ``encoder.pt``.

    Raises:
        ConfigError: the batch cannot be shared among ``nproc`` processes.
        TrainingError: torchrun failed (first line: the processes' error; then the log's tail).
    """
    import yaml

    from mtneuro.config import to_dict
    from mtneuro.tasks.pretrain.config import check_processes

    check_processes(config, nproc)
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config = dataclasses.replace(config, out_dir=out.resolve(), resume=False, quiet=True)
    config_file = out / CONFIG_NAME
    config_file.write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding="utf-8")
    command = torchrun_command(nproc, ["pretrain", "--config", str(config_file.resolve())])
    # each process's share of the cell's threads (or of the CPUs it may use: a SLURM job's,
    # not the node's, mtneuro.threads.available_cpus)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads_per_job(nproc, threads or None))}
    log = out / LOG_NAME
    with log.open("w", encoding="utf-8", errors="replace") as handle:
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        _LAUNCHED.add(process)
        try:
            returncode = _wait(process)
        except BaseException:  # Ctrl-C or SIGTERM: stop torchrun, which stops its workers
            process.terminate()
            try:
                process.wait(timeout=_TERMINATE_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        finally:
            _LAUNCHED.discard(process)
    encoder = out / "encoder.pt"
    if returncode != 0 or not encoder.is_file():
        raise TrainingError(_failure_message(log, nproc, returncode))
    return encoder


def stop_launched() -> None:
    """SIGTERM to the torchrun launchers this process waits for (torchrun stops its
    processes), without waiting for them."""
    for process in list(_LAUNCHED):
        process.terminate()  # one ended meanwhile is left alone (Popen checks)


def _wait(process: subprocess.Popen) -> int:
    """``process.wait()``, with SIGTERM to this process raising ``SystemExit`` meanwhile.

    A pool terminating its worker, or ``kill``, would otherwise end this process at
    once and leave torchrun and its workers running; raised, it reaches the caller's
    clean-up. (Only the main thread may set signal handlers; elsewhere it just waits.)
    """

    def stop(signum: int, frame: Any, previous: Any) -> None:
        if callable(previous):
            # the bench's own handler (runner.sigterm_as_interrupt, a cell run in the bench's
            # process): it stops the suite, where SystemExit would only fail this cell
            previous(signum, frame)
        raise SystemExit(128 + signum)

    with on_sigterm(stop):
        return process.wait()


def _failure_message(log: Path, nproc: int, returncode: int) -> str:
    """One line naming the first process error, then the tail of the processes' output."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    ranks = [_RANK_PREFIX.sub("", line) for line in lines if _RANK_PREFIX.match(line)]
    # a process's one-line error may be untagged while torchrun's own summary is tagged
    errors = [line.strip() for group in (ranks, lines) for line in group
              if _ERROR_LINE.match(line.strip()) and "ChildFailedError" not in line]
    killed = _killed_root_cause(lines)
    if killed:  # a killed process writes no error: the others' errors are its symptoms
        cause = killed
    elif errors:
        cause = errors[0]
    elif returncode:
        cause = f"exit code {returncode}"
    else:
        cause = "it wrote no encoder.pt"
    tail = "\n".join((ranks or lines)[-TAIL_LINES:])
    return (f"SSL pre-training under torchrun ({nproc} processes) failed: {cause} (log: {log})\n"
            f"--- last lines of the processes' output ---\n{tail}")


_ROOT_RANK = re.compile(r"^\s*rank\s*:\s*(\d+)")
_ROOT_EXIT = re.compile(r"^\s*exitcode\s*:\s*(-?\d+)")
_SIGNAL_NAME = re.compile(r"\((SIG[A-Z0-9]+)\)")  # on the exitcode or the traceback line


def _killed_root_cause(lines: list[str]) -> str | None:
    """torchrun's "Root Cause" entry when it is a process ended by a signal, as
    ``"the process of rank 1 was killed (SIGKILL)"``; else None."""
    for start, line in enumerate(lines):
        if not line.startswith("Root Cause"):
            continue
        block = lines[start + 1:start + 9]
        rank = next((m.group(1) for b in block if (m := _ROOT_RANK.match(b))), None)
        code = next((int(m.group(1)) for b in block if (m := _ROOT_EXIT.match(b))), 0)
        if rank is None or code >= 0:
            return None
        name = next((m.group(1) for b in block if (m := _SIGNAL_NAME.search(b))),
                    f"signal {-code}")
        return f"the process of rank {rank} was killed ({name})"
    return None


def _pretrain_summary(out: Path) -> dict[str, Any]:
    """World size and result of the pre-training, from its ``metrics.json``."""
    from mtneuro.report.results import read_metrics

    try:
        metrics = read_metrics(out).get("metrics", {})
    except (OSError, ValueError):
        return {}
    return {k: metrics[k] for k in ("world_size", "steps", "epochs", "final_loss") if k in metrics}


def check_cell_ddp(task: Any, config: Any, cell: Any) -> None:
    """What a cell's run under torchrun needs, checked before any cell runs (``--dry-run``
    too): a task that pre-trains, and a batch and pool its processes can share.

    Raises:
        ConfigError: naming the cell and the problem.
    """
    from mtneuro.tasks.pretrain.config import check_processes

    if not task.pretrain_methods:
        raise ConfigError(f"cell {cell.id}: ddp: task {cell.task!r} cannot pre-train under "
                          "torchrun (it declares no pretrain_methods)")
    if not hasattr(config, "pretrain"):
        raise ConfigError(f"cell {cell.id}: ddp: task {cell.task!r} cannot pre-train under "
                          f"torchrun (its config {type(config).__name__} has no 'pretrain')")
    if config.pretrain is not None:
        try:
            check_processes(config.pretrain, cell.ddp_procs)
        except ConfigError as err:
            raise ConfigError(f"cell {cell.id}: pretrain.{err} (ddp.nproc_per_node / "
                              "--ddp-procs)") from None


def ddp_deviations(cell: Any, config: Any) -> list[str]:
    """The protocol-card line of a cell whose pre-training runs under torchrun (the card of
    its record and of ``--dry-run``); none where the cell pre-trains nothing."""
    if cell.ddp_procs <= 1 or getattr(config, "pretrain", None) is None:
        return []
    return [(f"pre-training data-parallel on {cell.ddp_procs} processes (reference: one "
             "process, scripts/task1_ssl.py)")]


def card_of_ddp_cell(cell_card: dict[str, Any], run_card: dict[str, Any],
                     config_card: dict[str, Any], ddp_lines: list[str]) -> dict[str, Any]:
    """The card of a cell whose encoder torchrun pre-trained: ``cell_card`` (of the cell's own
    config, not of the run's, which reads the written encoder) with ``ddp_lines`` and the
    deviations and notes of ``run_card`` that the run config's card (``config_card``) does
    not hold: what only the run could know (a class no readout sees, ...)."""
    def run_only(key: str) -> list[str]:
        known = config_card.get(key) or []
        return [line for line in run_card.get(key) or [] if line not in known]

    deviations = [*cell_card["deviations"], *ddp_lines, *run_only("deviations")]
    notes = [*(cell_card.get("notes") or []), *run_only("notes")]
    return {**cell_card, "deviations": list(dict.fromkeys(deviations)),
            "notes": list(dict.fromkeys(notes))}


def pretrain_under_torchrun(task: Any, config: Any, cell: Any, directory: Path,
                            *, threads: int | None = None) -> tuple[Any, dict[str, Any] | None]:
    """Pre-train ``config``'s encoder under torchrun (see the module docstring).

    Returns:
        The config to run (using the written encoder) and the ``ddp`` record for
        ``metrics.json``, or ``config`` unchanged and ``None`` when it does not pre-train.

    Raises:
        ConfigError: the task cannot pre-train (no ``pretrain_methods``).
        TrainingError: the torchrun launch failed.
    """
    check_cell_ddp(task, config, cell)
    pretrain = config.pretrain
    if pretrain is None:
        return config, None
    out = Path(directory) / PRETRAIN_DIR
    encoder = launch_pretrain(pretrain, cell.ddp_procs, out, threads=threads)
    record = {"nproc_per_node": cell.ddp_procs, "launcher": LAUNCHER, "pretrain_dir": PRETRAIN_DIR,
              "encoder": f"{PRETRAIN_DIR}/encoder.pt", **_pretrain_summary(out)}
    return dataclasses.replace(config, encoder=str(encoder), pretrain=None), record
