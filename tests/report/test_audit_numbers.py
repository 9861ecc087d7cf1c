"""Known answers for the numbers mtneuro prints, from the audit of every printed number
(/work/exp/honest_report.md): the spread over seeds is the sample std, "deterministic" is said
only of seeds that agree exactly, a grouped interval resamples groups, and the task-2 scores
follow from their confusion counts as the reference defines them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mtneuro.cli.neural import _aggregate, _summary
from mtneuro.report.leaderboard import build_tables, value_text
from mtneuro.stats import classification_intervals
from mtneuro.tasks.segmentation.metrics import segmentation_scores

UNIT = "test trials"


def _seed_row(seed: int, accuracy: float, delta: float, wall_s: float) -> dict[str, Any]:
    """One seed's metrics as run_neural returns them (reach), with a known interval."""
    def interval(value: float) -> dict[str, Any]:
        return {"low": value - 0.1, "high": value + 0.1, "level": 0.95, "resamples": 1000,
                "n": 16, "unit": UNIT, "method": "percentile bootstrap over test samples"}

    return {"method": "raw", "recording": "chewie-1", "kind": "reach", "split": "trial",
            "split_label": "trials", "n_train": 734, "n_test": 79, "seed": seed,
            "accuracy": accuracy, "delta_accuracy": delta, "wall_s": wall_s,
            "train_wall_s": 0.0, "intervals": {"accuracy": interval(accuracy),
                          "delta_accuracy": interval(delta)}}


def test_neural_seeds_print_their_mean_and_sample_std() -> None:
    rows = [_seed_row(0, 0.5, 0.6, 1.0), _seed_row(1, 0.7, 0.6, 2.0),
            _seed_row(2, 0.9, 0.9, 3.0)]
    m = _aggregate(rows)
    # sample std of 0.5 / 0.7 / 0.9 is 0.2 (the population std would be 0.163)
    assert (m["accuracy"], m["accuracy_std"]) == pytest.approx((0.7, 0.2))
    assert (m["delta_accuracy"], m["delta_accuracy_std"]) == pytest.approx((0.7, np.sqrt(0.03)))
    # seeds differ: an interval of one seed must not stand for the spread
    assert m["intervals"] is None
    line = _summary(m, aggregate=True)
    assert "accuracy 0.700 ± 0.200 over 3 seeds" in line
    assert "delta_accuracy 0.700 ± 0.173 over 3 seeds" in line
    assert "deterministic" not in line and line.endswith("; n_test 79; run 2.0 s per seed")


def test_only_seeds_that_agree_exactly_are_called_deterministic() -> None:
    same = _aggregate([_seed_row(0, 0.6, 0.8, 1.0), _seed_row(1, 0.6, 0.8, 1.0)])
    line = _summary(same, aggregate=True)
    # the first seed's interval, labelled with its count and unit
    assert ("accuracy 0.600 [0.500, 0.700], delta_accuracy 0.800 [0.700, 0.900] (95% CI over "
            f"16 {UNIT}; deterministic: identical over 2 seeds)") in line
    # one ulp apart is not "identical": the claim must hold of the per-seed values
    close = _aggregate([_seed_row(0, 0.6, 0.8, 1.0),
                        _seed_row(1, float(np.nextafter(0.6, 1.0)), 0.8, 1.0)])
    assert close["accuracy_std"] > 0 and close["intervals"] is None
    # the accuracies differ (by a last bit, so ± 1e-16); the δ-accuracies agree, but the
    # seeds changed the run, so that is a coincidence, not a deterministic method
    line = _summary(close, aggregate=True)
    assert ("accuracy 0.600 ± 1e-16 over 2 seeds, delta_accuracy 0.800 (identical over 2 "
            "seeds);") in line
    assert "deterministic" not in line


def _record(seed: int, accuracy: float) -> dict[str, Any]:
    cell_id = f"task1-roi-c1-nmf-phantom-s{seed}"
    return {"cell": {"id": cell_id, "task": "task1", "setting": "roi-c1", "method": "nmf"},
            "status": "complete", "headline": {"accuracy": accuracy},
            "source": {"source": "phantom"}, "_dir": f"cells/{cell_id}",
            "protocol": {"name": "t", "version": 1}, "deviations": []}


def test_a_leaderboard_row_prints_the_sample_std_of_its_seeds() -> None:
    (table,) = build_tables([_record(s, a) for s, a in enumerate([0.5, 0.7, 0.9])],
                            published=False)
    (row,) = table.rows
    assert row.n == 3 and value_text(table, row, "accuracy") == "0.700 ± 0.200"


def test_a_grouped_interval_resamples_whole_groups() -> None:
    # 16 trials of 5 bins, each trial all right or all wrong: resampling trials gives the
    # spread of Binomial(16, 1/2) / 16, about [0.25, 0.75]; resampling the 80 bins alone
    # would give about [0.39, 0.61]
    groups = np.repeat(np.arange(16), 5)
    truth = np.zeros(80, dtype=int)
    pred = np.where(groups % 2 == 0, 0, 1)
    interval = classification_intervals(truth, pred, 2, unit=UNIT, groups=groups)["accuracy"]
    assert (interval["n"], interval["unit"], interval["level"]) == (16, UNIT, 0.95)
    assert interval["low"] == pytest.approx(0.25, abs=1 / 16 + 1e-9)
    assert interval["high"] == pytest.approx(0.75, abs=1 / 16 + 1e-9)


def test_task2_scores_follow_from_their_confusion_counts() -> None:
    # rows = truth (background, vessel, cell), columns = prediction
    cm = np.array([[50, 5, 5], [2, 6, 2], [1, 1, 8]])
    s = segmentation_scores(cm, ["background", "vessel", "cell"])
    # vessel: TP 6, FP 6, FN 4, TN 64 of 80 pixels
    assert s["f1"]["vessel"] == pytest.approx(12 / 22)
    assert s["iou_pooled"]["vessel"] == pytest.approx(6 / 16)
    assert s["specificity"]["vessel"] == pytest.approx(64 / 70)
    f1 = np.array(list(s["f1"].values()))
    # pooled IoU and F1 of the same counts are tied: IoU = F1 / (2 - F1)
    assert list(s["iou_pooled"].values()) == pytest.approx(list(f1 / (2 - f1)))
    assert s["avg_f1"] == pytest.approx(f1.mean())
    # the reference's balanced accuracy: counts pooled over the non-background classes
    # (vessel TP 6, FN 4, TN 64, FP 6; cell TP 8, FN 2, TN 63, FP 7)
    assert s["balanced_accuracy"] == pytest.approx((14 / 20 + 127 / 140) / 2)
    assert s["pixel_accuracy"] == pytest.approx(64 / 80)
    assert s["support"] == {"background": 60, "vessel": 10, "cell": 10}
