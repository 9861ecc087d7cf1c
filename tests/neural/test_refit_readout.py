"""A refit readout (penalty given) learns from training + validation bins."""

from types import SimpleNamespace

import numpy as np
import pytest

from mtneuro.tasks.neural.run import fit_readout, score_test


def _split():
    return {"train": np.arange(0, 200), "val": np.arange(200, 260), "test": np.arange(260, 320)}


def _informative_outside_train(code: np.ndarray) -> np.ndarray:
    """Features that carry ``code`` on validation and test bins only (zero on training bins)."""
    features = np.asarray(code, dtype=np.float64).copy()
    features[:200] = 0.0
    return features


def test_refit_angle_readout_learns_what_only_validation_bins_show():
    rng = np.random.default_rng(0)
    angle = rng.integers(0, 8, 320) * np.pi / 4
    rec = SimpleNamespace(kind="reach", angle=angle, label=(angle / (np.pi / 4)).astype(int))
    features = _informative_outside_train(np.stack([np.cos(angle), np.sin(angle)], axis=1))
    split = _split()
    first = fit_readout(rec, features, split)  # training bins only: nothing to learn
    refit = fit_readout(rec, features, split, penalty=2.0**-10)
    assert refit.penalty_ == 2.0**-10
    assert score_test(rec, first, features, split["test"])[0]["accuracy"] < 0.5
    assert score_test(rec, refit, features, split["test"])[0]["accuracy"] == 1.0


def test_refit_state_readout_learns_what_only_validation_bins_show():
    rng = np.random.default_rng(1)
    label = rng.integers(0, 3, 320)
    rec = SimpleNamespace(kind="sleep", angle=None, label=label, class_names=["a", "b", "c"])
    features = _informative_outside_train(4.0 * np.eye(3)[label])
    split = _split()
    first = fit_readout(rec, features, split)
    refit = fit_readout(rec, features, split, penalty=2.0**-10)
    assert score_test(rec, first, features, split["test"])[0]["accuracy"] < 0.6
    assert score_test(rec, refit, features, split["test"])[0]["accuracy"] == pytest.approx(1.0)
