"""Run one bench cell and record it in ``DIR/cells/<id>/metrics.json``.

The record is the versioned :func:`mtneuro.report.results.write_metrics` file
(schema version, code version, config, data source, metrics, wall time) plus:

* in ``config``, for a cell with ``ddp_procs`` > 1: ``ddp``, how its SSL
  pre-training ran under torchrun (:mod:`mtneuro.bench.ddp`; ``null`` when the
  cell's config pre-trained nothing, e.g. an ``encoder`` was given);

* ``protocol`` and ``deviations``: the run's protocol card
  (:func:`mtneuro.tasks.protocol.protocol_card`, judged with the data source the
  cell actually read), so the report can say whether the cell is comparable with
  the published rows shown beside it;
* ``bench_schema_version``: version of the keys below;
* ``status``: ``"complete"``, ``"failed"`` or ``"skipped"`` (the adapter raised
  :class:`CellSkipped`, e.g. a recording that is not downloaded; ``skip_reason`` says why);
* ``cell``: the cell definition (task, setting, method, seed, preset, params,
  source, encoder, ``ddp_procs`` when > 1), used by ``--resume`` to tell a finished
  cell from a changed one;
* ``headline``: the leaderboard numbers;
* ``inputs``: data read (volume source parameters, files and their SHA-256);
* ``figures``: PNGs of the cell, relative to its directory;
* ``error``: type, one-line message and traceback of a failed cell;
* ``host``: where it ran (cells may run on several machines and be merged).

:func:`run_cell` is a top-level function of plain arguments so process pools
and submitit can ship it to another process or machine.
"""

from __future__ import annotations

import json
import os
import platform
import time
import traceback
from pathlib import Path
from typing import Any

from mtneuro.bench.suite import Cell
from mtneuro.config import to_dict
from mtneuro.report.results import write_metrics

BENCH_SCHEMA_VERSION = 1
CELLS_DIR = "cells"


class CellSkipped(Exception):
    """Raised by an adapter when its cell cannot run here for a reason that is not a fault
    (its data is not downloaded); the cell is recorded as ``skipped`` with the message."""


def cell_dir(out_dir: str | Path, cell_id: str) -> Path:
    return Path(out_dir) / CELLS_DIR / cell_id


def read_record(out_dir: str | Path, cell_id: str) -> dict[str, Any] | None:
    """The cell's ``metrics.json``, or ``None`` if absent or unreadable (e.g. cut by a crash)."""
    path = cell_dir(out_dir, cell_id) / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_complete(out_dir: str | Path, cell: Cell) -> bool:
    """A complete record of exactly this cell exists (a changed definition must rerun)."""
    record = read_record(out_dir, cell.id)
    return (
        record is not None
        and record.get("bench_schema_version") == BENCH_SCHEMA_VERSION
        and record.get("status") == "complete"
        and record.get("cell") == json.loads(json.dumps(cell.to_dict()))
    )


def _config_dict(config: Any) -> dict[str, Any]:
    try:
        return to_dict(config)
    except TypeError:  # not a dataclass: keep what JSON can hold
        return dict(config) if isinstance(config, dict) else {"repr": repr(config)}


def _host() -> dict[str, Any]:
    return {"node": platform.node(), "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


def cell_card(config: Any, source: Any = None) -> dict[str, Any]:
    """The protocol card of a cell's task config (``source``: its data's ``describe()``)."""
    from mtneuro.tasks.protocol import protocol_card

    return protocol_card(config, source)


def record_failure(out_dir: str | Path, cell: Cell, exc: BaseException, *, wall_s: float | None,
                   config: dict[str, Any] | None = None, tb: str | None = None,
                   card: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a failed cell's record; returns the runner's one-line summary of it."""
    message = (str(exc).strip().splitlines() or [""])[0]
    error = {"type": type(exc).__name__, "message": message,
             "traceback": tb if tb is not None else "".join(traceback.format_exception(exc))}
    write_metrics(cell_dir(out_dir, cell.id), task=cell.task, metrics={}, config=config or {},
                  source={"source": cell.source, "params": cell.source_params}, wall_s=wall_s,
                  extra={**(card or {}), "bench_schema_version": BENCH_SCHEMA_VERSION,
                         "status": "failed",
                         "cell": cell.to_dict(), "headline": {}, "inputs": {}, "figures": [],
                         "error": error, "host": _host()})
    return {"id": cell.id, "status": "failed", "wall_s": wall_s, "headline": {},
            "error": f"{error['type']}: {message}"}


def run_cell(cell: Cell, adapter: str, out_dir: str | Path, *, threads: int | None = None) -> dict[str, Any]:
    """Build the cell's config, run its task, write its record; never raises for a task error.

    Args:
        cell: what to run.
        adapter: module path of the task's bench adapter (see :mod:`mtneuro.bench.tasks`).
        out_dir: the suite's output directory.
        threads: torch CPU threads for this cell (parallel cells share the cores).

    Returns:
        ``{"id", "status", "wall_s", "headline", "error"}`` for the runner's table.
    """
    import importlib
    import sys

    if threads:
        # Parallel cells share the cores; the variables cover torch if it is imported later.
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
    started = time.perf_counter()
    directory = cell_dir(out_dir, cell.id)
    directory.mkdir(parents=True, exist_ok=True)
    config_dict: dict[str, Any] = {}
    card: dict[str, Any] | None = None
    try:
        module = importlib.import_module(adapter)
        config = module.build_config(cell)
        config_dict = _config_dict(config)
        card = cell_card(config)
        judged = config  # the card judges the cell's own config, not the encoder DDP writes
        if cell.ddp_procs > 1:
            from mtneuro.bench.ddp import pretrain_under_torchrun

            config_dict["ddp"] = {"nproc_per_node": cell.ddp_procs}  # kept if the launch fails
            config, ddp = pretrain_under_torchrun(module, config, cell, directory, threads=threads)
            config_dict = {**_config_dict(config), "ddp": ddp}
        result = module.run(config)
        headline = {k: (None if v is None else float(v)) for k, v in module.headline(result).items()}
        figures = [Path(p).resolve().relative_to(directory.resolve()).as_posix()
                   for p in module.plots(result, directory)]
        inputs_fn = getattr(module, "inputs", None)
        inputs = inputs_fn(cell) if callable(inputs_fn) else {}
        card = cell_card(judged, result.get("source"))  # a cache judged by what filled it
        if config_dict.get("ddp"):
            card["deviations"].append(f"pre-training data-parallel on {cell.ddp_procs} processes "
                                      "(reference: one process, scripts/task1_ssl.py)")
    except KeyboardInterrupt:
        raise  # stop the suite; no record, so --resume reruns this cell
    except CellSkipped as skip:
        reason = str(skip)
        write_metrics(directory, task=cell.task, metrics={}, config=config_dict,
                      source={"source": cell.source, "params": cell.source_params}, wall_s=None,
                      extra={"bench_schema_version": BENCH_SCHEMA_VERSION, "status": "skipped",
                             "cell": cell.to_dict(), "headline": {}, "inputs": {}, "figures": [],
                             "error": None, "skip_reason": reason, "host": _host()})
        return {"id": cell.id, "status": "skipped", "wall_s": None, "headline": {}, "error": reason}
    except Exception as exc:  # noqa: BLE001 - any task error is recorded and the suite goes on
        return record_failure(out_dir, cell, exc, wall_s=time.perf_counter() - started,
                              config=config_dict, card=card)
    wall_s = time.perf_counter() - started
    metrics = result.get("metrics", {k: v for k, v in result.items() if k != "source"})
    write_metrics(directory, task=cell.task, metrics=metrics, config=config_dict,
                  source=result.get("source", {"source": cell.source, "params": cell.source_params}),
                  wall_s=wall_s,
                  extra={**card, "bench_schema_version": BENCH_SCHEMA_VERSION, "status": "complete",
                         "cell": cell.to_dict(), "headline": headline, "inputs": inputs,
                         "figures": figures, "error": None, "host": _host()})
    return {"id": cell.id, "status": "complete", "wall_s": wall_s, "headline": headline, "error": None}
