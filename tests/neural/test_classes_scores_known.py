"""Known answers for the scores of a classes recording (mutation audit of this session's
classes layout): macro F1 is macro, not weighted; its interval is its own and resampled over
test trials; sleep keeps the published pair of scores."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mtneuro.tasks.neural.metrics import class_scores, metric_intervals
from mtneuro.tasks.scores import accuracy_and_f1, macro_f1


def test_macro_f1_counts_each_class_alike():
    # truth 0,0,0,1 predicted all 0: class 0 F1 = 6/7, class 1 F1 = 0
    scores = accuracy_and_f1(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0]), macro=True)
    assert scores["f1_macro"] == pytest.approx(3 / 7)
    assert scores["f1_weighted"] == pytest.approx(0.75 * 6 / 7)
    assert scores["accuracy"] == 0.75
    assert macro_f1(np.zeros((3, 3))) == 0.0  # no counts: no class scored


def test_sleep_keeps_the_published_pair_and_classes_add_macro_f1():
    label, pred = np.array([0, 1, 2, 2]), np.array([0, 1, 2, 0])
    assert set(class_scores("sleep", label, pred)) == {"accuracy", "f1_weighted"}
    assert set(class_scores("classes", label, pred)) == {"accuracy", "f1_weighted", "f1_macro"}


def _imbalanced_run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 test trials of 5 bins: 32 of class 0 (all right), 8 of the rare class 1 (half
    right, half taken for 0)."""
    label = np.repeat(np.r_[np.zeros(32, int), np.ones(8, int)], 5)
    pred = label.copy()
    pred[32 * 5 + np.arange(0, 40, 2)] = 0
    return label, pred, np.repeat(np.arange(40), 5)


def test_classes_intervals_are_macro_f1s_own_and_over_test_trials():
    label, pred, trial = _imbalanced_run()
    recording = SimpleNamespace(kind="classes", class_names=("rest", "run"))
    intervals = metric_intervals(recording, label, pred, {}, trial, np.arange(label.size))
    scores = class_scores("classes", label, pred)
    assert set(intervals) == {"accuracy", "f1_weighted", "f1_macro"}
    for key in intervals:  # grouped by the 40 test trials, not by 150-bin blocks (2 groups)
        assert intervals[key]["n"] == 40 and intervals[key]["unit"] == "test trials"
        assert intervals[key]["low"] <= scores[key] <= intervals[key]["high"], key
    # the rare class pulls macro F1 well below weighted F1: two different intervals
    assert scores["f1_macro"] < scores["f1_weighted"] - 0.05
    assert intervals["f1_macro"]["high"] < intervals["f1_weighted"]["high"]
