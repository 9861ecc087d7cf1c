"""Bench adapter of task 1 (brain-region classification, :func:`mtneuro.tasks.region.run_task1`).

Settings are ``roi-c1``, ``roi-c2``, ``roi-c3``; methods are the task's
(``supervised``, ``supervised-mixup``, ``byol``, ``myow``, ``myow-merged``, ``pca``,
``nmf``, and ``encoder`` for a user encoder); preset ``paper`` (or none) selects the
released scripts' protocol, ``quick`` the task's quick preset (the ``resized`` protocol
at small sizes); ``params`` override :class:`~mtneuro.tasks.region.Task1Config` fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.bench.adapters import (
    pretrain_distributed,  # noqa: F401 - hook of mtneuro.bench.ddp
    volume_task_fields,
)
from mtneuro.bench.suite import Cell


def build_config(cell: Cell) -> Any:
    from mtneuro.tasks.region import task1_config

    fields = volume_task_fields(cell)
    if cell.preset == "paper":
        fields.setdefault("protocol", "paper")
    return task1_config(**fields)


def run(config: Any) -> dict[str, Any]:
    from mtneuro.tasks.region import run_task1

    return run_task1(config)


def headline(result: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": result["accuracy"]["mean"]}


def plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    from mtneuro.report.plots_region import plot_task1

    return plot_task1(result, out_dir)
