"""Known answers at the metric thresholds (errors exactly pi/8 and 3 pi/16)."""

import numpy as np
import pytest

from mtneuro.tasks.neural.metrics import reach_accuracy


def test_errors_exactly_at_the_thresholds_are_misses():
    """Accuracy is error < pi/8 and delta-accuracy error < 3 pi/16, strictly: an error of
    exactly pi/8 (representable: 0 - pi/8 wraps to pi/8 exactly) is no hit."""
    true = np.zeros(4)
    pred = np.array([np.pi / 8, -np.pi / 8, 3 * np.pi / 16, 0.0])
    m = reach_accuracy(pred, true)
    assert m["accuracy"] == pytest.approx(1 / 4)  # only the exact prediction
    assert m["delta_accuracy"] == pytest.approx(3 / 4)  # pi/8 twice and 0; not 3 pi/16


def test_per_bin_hits_use_the_same_strict_thresholds_as_the_metrics():
    """score_test's per-bin hits (bootstrap input) average to its metrics, boundaries included."""
    from types import SimpleNamespace

    from mtneuro.tasks.neural.run import score_test

    pred = np.array([np.pi / 8, 3 * np.pi / 16, 0.0, np.pi / 2])
    rec = SimpleNamespace(kind="reach", angle=np.zeros(4))
    readout = SimpleNamespace(predict=lambda x: pred[x[:, 0].astype(int)])
    metrics, classes, per_bin = score_test(rec, readout, np.arange(4.0)[:, None], np.arange(4))
    assert per_bin["accuracy"].tolist() == [False, False, True, False]
    assert per_bin["delta_accuracy"].tolist() == [True, False, True, False]
    for key in ("accuracy", "delta_accuracy", "mean_angular_error"):
        assert np.mean(per_bin[key]) == pytest.approx(metrics[key]), key
    assert classes[1:].tolist() == [1, 0, 2]  # nearest of the 8 directions
