"""Checks of a suite's cells before anything runs (errors name the cell).

Used by the runner (:func:`~mtneuro.bench.runner.run_suite`) and by ``mtneuro bench``
before it touches its output folder.
"""

from __future__ import annotations

from collections.abc import Iterable

from mtneuro.bench.suite import Cell
from mtneuro.errors import ConfigError
from mtneuro.tasks.api import resolve
from mtneuro.tasks.registry import get_task

#: where the value of a config key each cell sets itself comes from (default: its setting)
_SEEDS = "the 'seeds' of its grid entry or suite (or --seeds)"
_OWNED_FROM = {"method": "its grid entry's 'methods'", "model": "its grid entry's 'methods'",
               "seed": _SEEDS, "seeds": _SEEDS, "source": "the suite's 'source' (or --source)",
               "encoder": "--encoder", "quiet": "the bench (always quiet)"}


def check_params(cell: Cell) -> None:
    """Reject a ``params`` key the cell sets itself (its task's fields of a setting, method
    and seed; the source of a volume task; ``encoder`` of an encoder cell; ``quiet``):
    the cell's value would silently replace it.

    Raises:
        ConfigError: one line naming the cell, the key, its value and where it is set.
    """
    task = get_task(cell.task)
    owned = set(resolve(task.fields, f"task {task.name} fields")(cell.setting, cell.method,
                                                                  cell.seed))
    owned |= {"quiet"} | ({"source"} if task.volume else set())
    owned |= {"encoder"} if cell.encoder else set()
    for key in sorted(owned & set(cell.params)):
        where = _OWNED_FROM.get(key, "its grid entry's 'setting'")
        raise ConfigError(f"cell {cell.id}: params.{key}: {cell.params[key]!r} is set by the "
                          f"cell itself, from {where}; remove it from params")


def check_cells(cells: Iterable[Cell]) -> None:
    """Reject unknown tasks and settings, and ``params`` keys a cell sets itself
    (:func:`check_params`), before anything runs (errors name the cell)."""
    for cell in cells:
        task = get_task(cell.task)
        if task.settings and cell.setting not in task.settings:
            raise ConfigError(f"cell {cell.id}: unknown {cell.task} setting {cell.setting!r}; "
                              f"valid: {', '.join(task.settings)}")
        check_params(cell)
