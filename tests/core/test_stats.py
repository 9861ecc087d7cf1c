"""The one mean +- std over seeds and the shared classification scores, on known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtneuro.stats import mean_std
from mtneuro.tasks.scores import classification_metrics, weighted_f1


def test_mean_std_of_scalars_leaves_out_undefined_values():
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2}
    assert mean_std([0.25]) == {"mean": 0.25, "std": 0.0, "n": 1}
    assert mean_std([1.0, None, float("nan"), 3.0])["n"] == 2
    empty = mean_std([None, float("nan")])
    assert math.isnan(empty["mean"]) and math.isnan(empty["std"]) and empty["n"] == 0


def test_mean_std_of_rows_is_per_column():
    stats = mean_std([[1.0, float("nan")], [3.0, float("nan")]])
    assert stats["mean"][0] == 2.0 and stats["std"][0] == math.sqrt(2.0) and stats["n"] == 2
    assert math.isnan(stats["mean"][1]) and math.isnan(stats["std"][1])
    assert mean_std([[1.0, 2.0]]) == {"mean": [1.0, 2.0], "std": [0.0, 0.0], "n": 1}


def test_identical_seeds_have_exactly_their_value_and_no_spread():
    """0.797... three times sums to a mean one bit off, which once left a std of 1.4e-16 and a
    "0.797 ± 0.000" in the report where "same for all 3 seeds" belonged."""
    value = 0.7974683544303798
    assert np.float64([value] * 3).std(ddof=1) > 0  # the float effect this guards against
    assert mean_std([value] * 3) == {"mean": value, "std": 0.0, "n": 3}
    rows = mean_std([[value, 1.0], [value, 3.0], [value, float("nan")]])
    assert rows["mean"][0] == value and rows["std"][0] == 0.0 and rows["std"][1] == math.sqrt(2.0)


def test_a_report_cell_of_identical_seeds_says_so():
    from mtneuro.report.leaderboard import stat_text
    from mtneuro.report.published import Stat

    assert stat_text(Stat.of([0.7974683544303798] * 3), ours=True) == "0.797 (same for all 3 seeds)"


def test_weighted_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    truth, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    pred[pred == 3] = 2  # class 3 never predicted: its F1 is 0
    confusion = classification_metrics(truth, pred, 4)["confusion"]
    assert weighted_f1(confusion) == pytest.approx(
        f1_score(truth, pred, average="weighted", zero_division=0), abs=1e-12)
    assert weighted_f1([[3, 0], [0, 5]]) == 1.0


def test_per_class_accuracy_is_recall_and_nan_for_a_class_absent_from_the_test_set():
    # Class 2 is predicted once but never true: no recall to report, so NaN (not 0, which
    # would read as "never right", and not dropped, which would shift the class order).
    scores = classification_metrics([0, 0, 1, 1, 1], [0, 2, 1, 1, 0], 3)
    recall = scores["per_class_accuracy"]
    assert recall[:2] == [0.5, pytest.approx(2 / 3)] and math.isnan(recall[2])
    assert scores["accuracy"] == 0.6 and scores["n_test"] == 5
    assert scores["confusion"] == [[1, 0, 1], [1, 2, 0], [0, 0, 0]]


def test_describe_row_says_a_shared_interval_wording_once():
    from mtneuro.stats import describe_row

    def one(mean: float, low: float, high: float, tiles: int = 24):
        return {"mean": mean, "std": 0.0, "n": 1}, {"low": low, "high": high, "n": tiles,
                                                    "unit": "tiles"}

    same = [("a", *one(0.19, 0.10, 0.30)), ("b", *one(0.90, 0.80, 0.95))]
    assert describe_row(same, digits=2) == ("a 0.19 [0.10, 0.30], b 0.90 [0.80, 0.95] "
                                            "(95% CI over 24 tiles; 1 seed)")
    other = [same[0], ("b", *one(0.90, 0.80, 0.95, tiles=12))]
    assert describe_row(other, digits=2) == (  # said after each
        "a 0.19 [0.10, 0.30] 95% CI over 24 tiles; 1 seed, "
        "b 0.90 [0.80, 0.95] 95% CI over 12 tiles; 1 seed")
    seeds = [same[0], ("b", {"mean": 0.812, "std": 0.02, "n": 3}, None)]
    assert describe_row(seeds) == ("a 0.190 [0.100, 0.300] 95% CI over 24 tiles; 1 seed, "
                                   "b 0.812 ± 0.020 over 3 seeds")
    assert describe_row(same[:1], digits=2) == "a 0.19 [0.10, 0.30] 95% CI over 24 tiles; 1 seed"
