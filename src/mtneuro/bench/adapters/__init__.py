"""Bench adapters: one module per task, turning a suite cell into the task's config and back.

See :mod:`mtneuro.bench.tasks` for the functions each adapter defines.
"""

from __future__ import annotations

from typing import Any

from mtneuro.bench.suite import Cell


def volume_task_fields(cell: Cell) -> dict[str, Any]:
    """Config fields shared by the volume tasks 1 and 3: the cell's own ``params`` first,
    then setting, method, source (cell source parameters merged under the param ones),
    its one seed, encoder and preset."""
    params = dict(cell.params)
    return {
        **params,
        "setting": cell.setting,
        "method": cell.method,
        "source": cell.source,
        "source_params": {**cell.source_params, **params.get("source_params", {})},
        "seeds": (cell.seed,),
        "encoder": cell.encoder or params.get("encoder"),
        "quick": cell.preset == "quick",
        "quiet": True,
    }
