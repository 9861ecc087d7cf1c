"""Task 2 (microstructure segmentation) in the task contract (:mod:`mtneuro.tasks.api`).

Settings are ``<dim>-<classes>class`` (``2d-4class``, ``2d-3class``, ``3d-4class``,
``3d-3class``); methods are segmentation networks (:data:`mtneuro.vocab.SEGMENTATION_MODELS`);
presets ``paper`` and ``quick`` (:mod:`mtneuro.tasks.segmentation.config`). Headline
numbers: ``f1_avg``, ``iou_avg`` and ``f1_<class>``, ``iou_<class>`` per class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtneuro.errors import ConfigError
from mtneuro.tasks.api import Task
from mtneuro.tasks.segmentation.config import preset_values
from mtneuro.vocab import MTNEURO_UNETS, SEGMENTATION_MODELS, TASK_TITLES

SETTINGS = ("2d-4class", "2d-3class", "3d-4class", "3d-3class")


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    summary, names = metrics["summary"], metrics["setting"]["class_names"]
    out = {"f1_avg": summary["avg_f1"]["mean"], "iou_avg": summary["avg_iou"]["mean"]}
    out.update({f"f1_{name}": summary["f1"][name]["mean"] for name in names})
    out.update({f"iou_{name}": summary["iou"][name]["mean"] for name in names})
    return out


def seed_metrics(metrics: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """One seed of a multi-seed run's metrics: its ``scores`` as a one-seed ``summary``
    (the aggregate keeps its means under ``summary``, each seed its numbers under ``scores``)."""
    def one(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: one(v) for k, v in value.items()}
        return {"mean": value, "std": None, "n": 1}

    return {**metrics, "summary": one(row["scores"]), "per_seed": [row]}


def cell_fields(setting: str, method: str, seed: int) -> dict[str, Any]:
    dim, _, classes = setting.partition("-")
    if setting not in SETTINGS:
        raise ConfigError(f"task2 setting: expected one of {', '.join(SETTINGS)}, got {setting!r}")
    return {"model": method, "classes": int(classes[0]), "dim": dim, "seeds": [seed]}


TASK2 = Task(
    name="task2",
    title=TASK_TITLES["task2"],
    config="mtneuro.tasks.segmentation.config:Task2Config",
    run="mtneuro.tasks.segmentation.run:run",
    card="mtneuro.tasks.segmentation.protocol:task2_card",
    headline=headline,
    fields=cell_fields,
    settings=SETTINGS,
    methods=SEGMENTATION_MODELS,
    presets={"paper": preset_values("paper"), "quick": preset_values("quick")},
    figures="mtneuro.report.task_figures:task2_figures",
    complete="mtneuro.tasks.segmentation.config:checked_task2_values",
    resumable=True,
    seed_metrics=seed_metrics,
    # smp for the 2D zoo and ssl-unet's decoder, MONAI for the 3D one; MTNeuro's own U-Nets
    # are built here from torch alone
    method_extras={model: ("seg",) for model in SEGMENTATION_MODELS
                   if model not in MTNEURO_UNETS},
)
