"""Known-answer tests of the angular and classification metrics."""

import numpy as np
import pytest

from mtneuro.tasks.neural.metrics import (
    angle_from_cos_sin,
    angular_error,
    nearest_direction,
    reach_accuracy,
)
from mtneuro.tasks.scores import accuracy_and_f1


def test_angular_error_wraps_around_the_circle():
    pred = np.array([0.1, 2 * np.pi - 0.1, np.pi, 0.0, 3 * np.pi])
    true = np.array([2 * np.pi - 0.1, 0.1, 0.0, np.pi / 2, 0.0])
    np.testing.assert_allclose(angular_error(pred, true), [0.2, 0.2, np.pi, np.pi / 2, np.pi], atol=1e-12)


def test_accuracy_thresholds_pi_over_8_and_3pi_over_16():
    true = np.zeros(5)
    # errors: 0, just under pi/8, just over pi/8, just under 3pi/16, over 3pi/16 (on the negative side)
    pred = np.array([0.0, np.pi / 8 - 1e-6, np.pi / 8 + 1e-6, 3 * np.pi / 16 - 1e-6, -(3 * np.pi / 16 + 1e-6)])
    m = reach_accuracy(pred, true)
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["delta_accuracy"] == pytest.approx(4 / 5)


def test_angle_from_cos_sin_and_nearest_direction():
    angles = np.arange(8) * np.pi / 4
    cs = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 3.0  # scale does not matter
    np.testing.assert_allclose(angle_from_cos_sin(cs), angles, atol=1e-12)
    np.testing.assert_array_equal(nearest_direction(angles + 0.3), np.arange(8))
    assert nearest_direction(np.array([2 * np.pi - 0.1]))[0] == 0


def test_weighted_f1_and_accuracy_by_hand():
    target = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0])
    m = accuracy_and_f1(target, pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class F1: c0 p=2/3 r=2/3 -> 2/3; c1 p=2/3 r=1 -> 0.8; c2 -> 0; weights 3, 2, 1
    assert m["f1_weighted"] == pytest.approx((3 * 2 / 3 + 2 * 0.8 + 0) / 6)


def test_weighted_f1_equals_scikit_learn_bit_for_bit():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 5):
        target, pred = rng.integers(0, n_classes, 200), rng.integers(0, n_classes, 200)
        pred[pred == n_classes - 1] = 0  # a class never predicted
        assert accuracy_and_f1(target, pred)["f1_weighted"] == f1_score(
            target, pred, average="weighted", zero_division=0)
