"""``Results.table()`` of a multi-seed ``mtneuro task2`` or ``mtneuro neural`` run counts its
seeds: before, their aggregates (task 2's ``summary``, neural's plain means) were not read
per seed, so each row said n = 1 with no spread, a mean over seeds shown as one value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.api import load_results
from mtneuro.cli.main import cli
from mtneuro.report.record import write_result
from mtneuro.tasks.registry import get_task

CLASSES = ["background+axon", "vessel", "cell"]
REGIONS = ["cortex", "striatum", "thalamus", "zona_incerta"]
# (avg_f1, avg_iou, per-class f1, per-class iou) of each seed
SEEDS = {0: (0.25, 0.15, [0.6, 0.05, 0.1], [0.4, 0.02, 0.03]),
         1: (0.45, 0.35, [0.8, 0.25, 0.3], [0.7, 0.12, 0.23])}


def _task2_scores(avg_f1: float, avg_iou: float, f1: list[float], iou: list[float]
                  ) -> dict:
    f1_of, iou_of = dict(zip(CLASSES, f1)), dict(zip(CLASSES, iou))
    return {"avg_f1": avg_f1, "avg_iou": avg_iou, "avg_iou_pooled": avg_iou,
            "balanced_accuracy": 0.5, "pixel_accuracy": 0.9, "f1": f1_of,
            "iou": iou_of, "iou_pooled": iou_of, "recall": f1_of,
            "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}


def _task2_run(out: Path) -> dict:
    """A 2-seed ``mtneuro task2 --classes 3`` run folder, its metrics laid out as the command
    writes them (the per-seed ``scores`` aggregated by the command's own ``_summary``; every
    key here is one of a real ``task2 --quick --seeds 0 1`` run's, checked once), without
    the minutes of training."""
    from mtneuro.tasks.segmentation.run import _summary

    per_seed = [{"seed": seed, "scores": _task2_scores(*numbers), "train_s": 1.0}
                for seed, numbers in SEEDS.items()]
    metrics = {"setting": {"classes": 3, "dim": "2d", "regions": REGIONS,
                           "class_names": CLASSES},
               "model": "unet", "per_seed": per_seed,
               "summary": _summary(per_seed, tuple(CLASSES)), "intervals": None}
    task = get_task("task2")
    config = task.make_config("quick", {"model": "unet", "classes": 3, "seeds": [0, 1]})
    write_result(task.result(config, setting="2d-3class", method="unet", metrics=metrics,
                             source={"source": "phantom"}), out)
    return metrics


def _expected(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1))


def test_a_two_seed_task2_run_is_one_row_per_metric_over_its_seeds(tmp_path):
    metrics = _task2_run(tmp_path)
    rows = {r["metric"]: r for r in load_results(tmp_path).table(published=False)}
    seeds = [row["scores"] for row in metrics["per_seed"]]
    expected = {"f1_avg": [s["avg_f1"] for s in seeds], "iou_avg": [s["avg_iou"] for s in seeds],
                **{f"f1_{c}": [s["f1"][c] for s in seeds] for c in CLASSES},
                **{f"iou_{c}": [s["iou"][c] for s in seeds] for c in CLASSES}}
    assert set(rows) == set(expected)
    for key, values in expected.items():
        mean, std = _expected(values)
        assert rows[key]["n"] == 2, key
        assert (rows[key]["mean"], rows[key]["std"]) == (pytest.approx(mean), pytest.approx(std))
    # the row's mean is the aggregate's
    assert rows["f1_avg"]["mean"] == pytest.approx(metrics["summary"]["avg_f1"]["mean"])
    # under the key line, the f1_avg row: 0.35 ± 0.141
    assert " ± 0.141 " in str(load_results(tmp_path)).splitlines()[1]


@pytest.mark.filterwarnings("ignore:MYOW's mined-loss ramp ends")
def test_a_two_seed_neural_run_is_one_row_per_metric_over_its_seeds(tmp_path):
    out = tmp_path / "run"
    args = ["neural", "--data", "chewie-1", "--method", "myow", "--steps", "2",
            "--seeds", "0", "1", "--out", str(out)]
    outcome = CliRunner().invoke(cli, args)
    assert outcome.exit_code == 0, outcome.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    rows = {r["metric"]: r for r in load_results(out).table(published=False)}
    assert set(rows) == {"accuracy", "delta_accuracy"}
    for key, row in rows.items():
        mean, std = _expected([seed[key] for seed in metrics["per_seed"]])
        assert row["n"] == 2, key
        assert (row["mean"], row["std"]) == (pytest.approx(mean), pytest.approx(std))
        assert row["mean"] == pytest.approx(metrics[key])  # the aggregate's mean
        assert row["std"] == pytest.approx(metrics[f"{key}_std"])
