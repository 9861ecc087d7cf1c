"""Bench adapter of task 2 (microstructure segmentation, :func:`mtneuro.tasks.segmentation.run.run_task2`).

Settings are ``<dim>-<classes>class`` (``2d-4class``, ``2d-3class``, ``3d-4class``,
``3d-3class``); methods are segmentation model names (``unet``, ``manet``, ...,
``unet3d``, ``vnet``, ``highresnet``); ``params`` override :class:`Task2Config`
fields (``train`` merges key by key into the preset's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.bench.suite import Cell
from mtneuro.errors import ConfigError


def _split_setting(setting: str) -> tuple[str, int]:
    dim, _, classes = setting.partition("-")
    if dim not in ("2d", "3d") or classes not in ("3class", "4class"):
        raise ConfigError(f"task2 setting: expected '2d-4class', '2d-3class', '3d-4class' or "
                          f"'3d-3class', got {setting!r}")
    return dim, int(classes[0])


def build_config(cell: Cell) -> Any:
    from mtneuro.tasks.segmentation.run import task2_config

    dim, classes = _split_setting(cell.setting)
    params = dict(cell.params)
    return task2_config(
        cell.preset,
        **{**params, "model": cell.method, "classes": classes, "dim": dim, "source": cell.source,
           "source_params": {**cell.source_params, **params.get("source_params", {})},
           "seeds": (cell.seed,)},
    )


def run(config: Any) -> dict[str, Any]:
    from mtneuro.tasks.segmentation.run import run_task2

    return run_task2(config, quiet=True)


def headline(result: dict[str, Any]) -> dict[str, float]:
    summary = result["metrics"]["summary"]
    out = {"f1_avg": summary["avg_f1"]["mean"], "iou_avg": summary["avg_iou"]["mean"]}
    for name in result["metrics"]["setting"]["class_names"]:
        out[f"f1_{name}"] = summary["f1"][name]["mean"]
    for name in result["metrics"]["setting"]["class_names"]:
        out[f"iou_{name}"] = summary["iou"][name]["mean"]
    return out


def plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    from mtneuro.report.plots_segmentation import plot_region_overlays

    return list(plot_region_overlays(result["examples"], out_dir))
