"""What a suite run would do with each cell, decided before anything runs.

Shared by the runner (``--resume``: keep a cell done earlier, say when one is rerun
because its definition changed) and ``mtneuro bench --dry-run`` (which marks every
cell the same way, and the cells whose recording is not downloaded here or whose extra is
not installed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mtneuro.bench.cell import (
    cell_dir,
    files_changed,
    read_record,
    record_is_complete,
    weights_changed,
)
from mtneuro.bench.progress import DONE_EARLIER
from mtneuro.bench.suite import Cell
from mtneuro.report.cell_definitions import as_json, changed_keys
from mtneuro.tasks.api import Task

#: How ``--resume`` treats a cell: its complete record is kept, it reruns because its
#: definition changed since its record, or it runs (no record, or not a complete one).
Earlier = Literal["kept", "changed", "new"]
#: How ``--dry-run`` marks them (the live table and summary say :data:`DONE_EARLIER` too).
MARKS = {"kept": f"{DONE_EARLIER} (kept)", "changed": "rerun: config changed", "new": "to run"}
NOT_DOWNLOADED = "not downloaded: will be skipped"
NEEDS_EXTRA = "needs {}: will be skipped"


def missing_extras(task: Task, cell: Cell) -> list[str]:
    """The extras ``cell`` needs that are not installed here: its task's, its method's, and
    ``bossdb`` for a cell reading the BossDB source. Its run would stop at the first import,
    so the runner records it as skipped (a cell's missing extra is no fault of the cell)."""
    from mtneuro.extras import missing_modules

    needed = [*task.extras, *task.method_extras.get(cell.method, ()),
              *(("bossdb",) if task.volume and cell.source == "bossdb" else ())]
    return [extra for extra in dict.fromkeys(needed) if missing_modules(extra)]


def earlier_run(out_dir: str | Path, cell: Cell) -> Earlier:
    """What ``--resume`` does with ``cell`` given the record in ``out_dir`` (see :data:`Earlier`).

    ``"changed"`` needs a readable record of another definition, of other encoder files
    (:func:`~mtneuro.bench.cell.files_changed`) or of other weights of a code-built encoder
    (:func:`~mtneuro.bench.cell.weights_changed`); an unreadable or failed record of this
    one is simply run again (``"new"``).
    """
    record = read_record(out_dir, cell.id)
    if record_is_complete(record, cell):
        return "kept"
    current = as_json(cell.to_dict())  # as the record stores it (tuples become lists)
    if record is not None and "cell" in record and (
            record["cell"] != current or files_changed(record, cell)
            or weights_changed(record, cell)):
        return "changed"
    return "new"


def why_new(out_dir: str | Path, cell: Cell) -> str | None:
    """Why ``--resume`` runs a ``"new"`` cell that has a record: ``"its record could not be
    read"`` (cut short by a crash), ``"it failed earlier"``; ``None`` when it has none."""
    path = cell_dir(out_dir, cell.id) / "metrics.json"
    if not path.exists():
        return None
    record = read_record(out_dir, cell.id)
    if record is None:
        return "its record could not be read"
    return "it failed earlier" if record.get("status") == "failed" else None


def what_changed(cell: Cell, out_dir: str | Path) -> str:
    """What differs from the record of ``cell`` in ``out_dir``: the cell's keys that changed
    (``params.steps``, ``seed``), else ``encoder file`` and / or ``encoder weights`` (a
    ``module:callable`` or name that now builds other weights)."""
    keys, inputs = _changes(cell, out_dir)
    return ", ".join(keys) or inputs


def rerun_reason(cell: Cell, out_dir: str | Path) -> str:
    """The summary's reason for rerunning ``cell``: ``config`` when keys of its definition
    changed (its line names them), else what :func:`what_changed` names (``encoder file``
    ...), so the summary says what the cell lines say."""
    keys, inputs = _changes(cell, out_dir)
    return "config" if keys else inputs


def _changes(cell: Cell, out_dir: str | Path) -> tuple[list[str], str]:
    """The cell's keys that differ from its record, and which of its encoder inputs did
    (``encoder file`` and / or ``encoder weights``; ``encoder file`` when neither says)."""
    record = read_record(out_dir, cell.id)
    keys = changed_keys((record or {}).get("cell"), as_json(cell.to_dict()))
    inputs = [what for what, changed in (("encoder file", files_changed),
                                         ("encoder weights", weights_changed))
              if not keys and record is not None and changed(record, cell)]
    return keys, " and ".join(inputs) or "encoder file"


def changed_line(cell: Cell, out_dir: str | Path | None = None) -> str:
    """The line the runner prints before rerunning a cell whose definition changed (with
    ``out_dir``: naming what changed, its keys, its encoder file or its encoder weights)."""
    what = what_changed(cell, out_dir) if out_dir is not None else "config"
    return f"{what} changed since the earlier run: rerunning {cell.id}"
