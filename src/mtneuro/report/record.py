"""Run a task and record it: ``metrics.json`` and the task's figures, for every task.

:func:`run_and_record` is what every task command (``mtneuro task1`` ...), every bench
cell and :func:`mtneuro.evaluate` call; :func:`load_result` reads a record back as a
:class:`~mtneuro.tasks.api.Result` (schema 1 or 2).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mtneuro.report.predictions import write_predictions
from mtneuro.report.results import stamp, write_json_atomic
from mtneuro.tasks.api import Result, Task, resolve


def write_result(result: Result, out_dir: str | Path,
                 extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``out_dir/metrics.json`` (:meth:`Result.to_json`, stamped, plus ``extra`` keys)."""
    result.record = {**result.record, **stamp(), **dict(extra or {})}
    return write_json_atomic(Path(out_dir) / "metrics.json", result.to_json())


def task_figures(task: Task, result: Result, out_dir: Path) -> list[str]:
    """The task's figures of ``result`` in ``out_dir``, relative to it."""
    if task.figures is None:
        return []
    paths = resolve(task.figures, f"task {task.name} figures")(result, out_dir)
    return [Path(p).resolve().relative_to(out_dir.resolve()).as_posix() for p in paths]


def run_and_record(task: Task, config: Any, out_dir: str | Path, *, encoder: Any = None,
                   resume: bool = False, extra: Mapping[str, Any] | None = None,
                   started: float | None = None,
                   keep: Callable[[Result], None] | None = None) -> Result:
    """Run ``config`` of ``task`` and write its ``metrics.json``, figures and, where the task
    gives them, per-sample predictions (``predictions.csv``, :mod:`mtneuro.report.predictions`)
    to ``out_dir``.

    Args:
        encoder: an encoder in memory for the task's encoder method.
        resume: continue from the checkpoints a resumable task keeps in ``out_dir``.
        extra: further top-level keys of the record (a bench cell's).
        started: ``time.perf_counter()`` when the caller's work began (default: now);
            ``wall_s`` counts from it to the written figures.
        keep: writes the caller's files of the result (e.g. trained encoders) before
            ``metrics.json``, the record that marks the run finished: a run stopped between
            the two must not look complete without them.

    Returns:
        The result, with ``figures`` (relative to ``out_dir``) and ``wall_s`` set.
    """
    started = time.perf_counter() if started is None else started
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        result = task.execute(config, encoder=encoder, workdir=out, resume=resume)
    except BaseException:
        if created and not any(out.iterdir()):  # a run that failed before writing leaves nothing
            out.rmdir()
        raise
    if keep is not None:
        keep(result)
    result.figures = task_figures(task, result, out)
    if result.artefacts.get("predictions") is not None:  # before metrics.json, which names it
        extra = {**dict(extra or {}),
                 "predictions": write_predictions(result.artefacts["predictions"], out)}
    result.wall_s = time.perf_counter() - started
    write_result(result, out, extra)
    return result


def load_result(path: str | Path) -> Result:
    """The :class:`Result` of a ``metrics.json`` (or of the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    return Result.from_json(json.loads(path.read_text(encoding="utf-8")), origin=str(path))
