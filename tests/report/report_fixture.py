"""A small suite directory with known numbers, written through the real plot functions.

Cell records are written as bench cells write them (``write_metrics`` with a cell,
a headline and the figure names); each task's figures come from its real plot
function on tiny hand-made results, so the report built from them has every
kind of figure (task-1 confusion and per-class bars, task-2 overlays, task-3
scatter, a neural confusion matrix with a direction absent from the test set)
in a few seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.plots_neural import plot_decoding_confusion
from mtneuro.report.plots_region import plot_task1
from mtneuro.report.plots_segmentation import plot_task2
from mtneuro.report.plots_semantic import plot_task3_scatter
from mtneuro.report.results import write_metrics
from mtneuro.tasks.semantic import FEATURE_NAMES

PHANTOM = {"source": "phantom", "params": {"seed": 0}}
REGIONS = ["CTX", "STR", "VP", "ZI"]
DIRECTIONS = [f"{a}°" for a in range(0, 360, 45)]


def write_cell(
    out: Path,
    task: str,
    setting: str,
    method: str,
    seed: int,
    headline: dict[str, float],
    plot,
    *,
    source: dict | None = None,
    metrics: dict | None = None,
) -> Path:
    """One complete cell: its figures from ``plot(cell_dir)`` and its ``metrics.json``
    (``metrics``: the headline numbers unless given)."""
    cell_id = f"{task}-{setting}-{method}-s{seed}"
    cell_dir = out / "cells" / cell_id
    cell_dir.mkdir(parents=True, exist_ok=True)
    figures = [Path(p).name for p in plot(cell_dir)]
    cell = {
        "id": cell_id,
        "task": task,
        "setting": setting,
        "method": method,
        "seed": seed,
        "preset": "quick",
        "params": {},
        "source": "phantom",
        "source_params": {},
        "encoder": None,
        "tag": None,
    }
    extra = {
        "protocol": {"name": f"{task}-test", "version": 1},
        "deviations": ["tiny test data"],
        "bench_schema_version": 1,
        "status": "complete",
        "cell": cell,
        "headline": headline,
        "inputs": {},
        "figures": figures,
        "error": None,
    }
    return write_metrics(
        cell_dir, task=task, metrics=headline if metrics is None else metrics,
        source=source or PHANTOM, extra=extra
    )


def task1_result(method: str, accuracy: float, seeds: int, first_seed: int = 0) -> dict[str, Any]:
    """A task-1 result over ``seeds`` seeds, numbered from ``first_seed``."""
    confusion = np.array([[9, 1, 0, 0], [1, 8, 1, 0], [0, 0, 10, 0], [0, 2, 0, 8]])
    spread = 0.02 if seeds > 1 else 0.0
    return {
        "setting": "roi-c1",
        "method": method,
        "dim": "2d",
        "class_names": REGIONS,
        "accuracy": {"mean": accuracy, "std": spread, "n": seeds},
        "per_class_accuracy": {"mean": [0.9, 0.8, 1.0, 0.8], "std": [spread] * 4},
        "confusion": confusion.tolist(),
        "per_seed": [{"seed": first_seed + i} for i in range(seeds)],
        "source": PHANTOM,
    }


def task2_result(model: str) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, size=(2, 24, 24)).astype(np.uint8)
    return {
        "metrics": {
            "model": model,
            "setting": {
                "classes": 4,
                "dim": "2d",
                "class_names": ["background", "vessel", "cell", "axon"],
            },
        },
        "config": {"seeds": [0]},
        "source": PHANTOM,
        "examples": {
            "image": rng.integers(0, 255, size=(2, 24, 24)).astype(np.uint8),
            "truth": truth,
            "prediction": np.roll(truth, 1, axis=2),
            "region": np.array([0, 1]),
            "region_names": ["cortex", "striatum"],
            "class_names": ["background", "vessel", "cell", "axon"],
        },
    }


def task3_result(method: str) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    true = rng.normal(size=(40, len(FEATURE_NAMES)))
    r2 = {f: {"mean": 0.5, "std": 0.0, "n": 1} for f in FEATURE_NAMES}
    return {
        "method": method,
        "setting": "roi-c1",
        "features": list(FEATURE_NAMES),
        "scatter": {"true": true, "pred": true + rng.normal(scale=0.5, size=true.shape), "seed": 0},
        "r2_test": r2,
        "r2_in_sample_reference": r2,
        "per_seed": [{}],
        "source": PHANTOM,
    }


def build_suite(out: Path) -> Path:
    """Write the cells of the test suite under ``out`` and return ``out``."""
    for seed, accuracy in enumerate((0.80, 0.84, 0.88)):  # three seeds that differ
        write_cell(
            out,
            "task1",
            "roi-c1",
            "supervised",
            seed,
            {"accuracy": accuracy},
            lambda d, a=accuracy, s=seed: plot_task1(task1_result("supervised", a, 1, s), d),
        )
    write_cell(
        out,
        "task1",
        "roi-c1",
        "pca",
        0,
        {"accuracy": 0.5},
        lambda d: plot_task1(task1_result("pca", 0.5, 1), d),
    )
    write_cell(
        out,
        "task2",
        "2d-4class",
        "unet",
        0,
        {"f1_avg": 0.7, "iou_avg": 0.55},
        lambda d: plot_task2(task2_result("unet"), d),
    )
    r2 = {f"r2_{f}": 0.5 for f in FEATURE_NAMES} | {f"r2_test_{f}": 0.4 for f in FEATURE_NAMES}
    write_cell(
        out,
        "task3",
        "roi-c1",
        "pca",
        0,
        r2,
        lambda d: [plot_task3_scatter(task3_result("pca"), d / "scatter.png")],
    )
    label = np.array([0, 1, 2, 3, 4, 6, 7] * 3)  # no 225° trial in the test set
    recording = {"source": "chewie-1", "label": "real recording chewie-1"}
    write_cell(
        out,
        "neural",
        "chewie-1",
        "myow",
        0,
        {"accuracy": 0.7, "delta_accuracy": 0.8},
        lambda d: [
            plot_decoding_confusion(
                label, label, DIRECTIONS, d / "confusion.png",
                title="myow on real recording chewie-1 · seed 0",
            )
        ],
        source=recording,
    )
    return out
