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


def test_weighted_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    truth, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    pred[pred == 3] = 2  # class 3 never predicted: its F1 is 0
    confusion = classification_metrics(truth, pred, 4)["confusion"]
    assert weighted_f1(confusion) == pytest.approx(
        f1_score(truth, pred, average="weighted", zero_division=0), abs=1e-12)
    assert weighted_f1([[3, 0], [0, 5]]) == 1.0
