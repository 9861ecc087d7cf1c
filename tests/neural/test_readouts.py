"""Closed-form ridge over the penalty grid, and both readouts on synthetic data."""

import numpy as np
import pytest

from mtneuro.tasks.neural.readouts import fit_angle_readout, fit_state_readout, ridge_grid


def test_ridge_grid_matches_normal_equations():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 6)), rng.normal(size=(50, 2))
    penalties = np.array([0.01, 1.0, 30.0])
    w, b = ridge_grid(x, y, penalties)
    xc, yc = x - x.mean(0), y - y.mean(0)
    for i, lam in enumerate(penalties):
        expected = np.linalg.solve(xc.T @ xc + 50 * lam * np.eye(6), xc.T @ yc)
        np.testing.assert_allclose(w[i], expected, atol=1e-10)
        np.testing.assert_allclose(b[i], y.mean(0) - x.mean(0) @ expected, atol=1e-10)


def test_angle_readout_decodes_linearly_encoded_directions():
    rng = np.random.default_rng(1)
    label = rng.integers(0, 8, 600)
    angle = label * np.pi / 4
    mix = rng.normal(size=(2, 20))
    x = np.stack([np.cos(angle), np.sin(angle)], 1) @ mix + 0.1 * rng.normal(size=(600, 20))
    ro = fit_angle_readout(x[:400], angle[:400], x[400:500], angle[400:500])
    err = np.abs(np.angle(np.exp(1j * (ro.predict(x[500:]) - angle[500:]))))
    assert np.mean(err < np.pi / 8) > 0.95 and ro.val_["accuracy"] > 0.95


def test_state_readout_is_class_balanced():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    x = rng.normal(size=(1000, 3)) + 1.2 * y[:, None]
    ro = fit_state_readout(x[::2], y[::2], x[1::2], y[1::2])
    pred = ro.predict(x[1::2])
    # balanced weights keep the rare class' recall high (an unweighted fit sacrifices it)
    assert np.mean(pred[y[1::2] == 1] == 1) > 0.8


def test_balanced_ridge_classifier_matches_a_weighted_sklearn_ridge():
    # The checkpoint scorer of sleep runs: classes weighted n / (k n_c), one-hot ridge.
    from sklearn.linear_model import Ridge
    from sklearn.metrics import accuracy_score, f1_score

    from mtneuro.tasks.neural.readouts import fit_balanced_ridge_classifier

    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(800, int), np.ones(150, int), np.full(50, 2)]
    x = rng.normal(size=(1000, 4)) + 0.8 * np.eye(3, 4)[y]
    xt, yt, xv, yv = x[::2], y[::2], x[1::2], y[1::2]
    standard = (xt - xt.mean(0)) / xt.std(0), (xv - xt.mean(0)) / xt.std(0)
    penalty = 1e-3
    balanced = (len(yt) / (3 * np.bincount(yt)))[yt]

    def sklearn_scores(weight):
        ridge = Ridge(alpha=len(yt) * penalty).fit(standard[0], np.eye(3)[yt], sample_weight=weight)
        pred = ridge.predict(standard[1]).argmax(1)
        return {"accuracy": accuracy_score(yv, pred),
                "f1_weighted": f1_score(yv, pred, average="weighted")}

    got = fit_balanced_ridge_classifier(xt, yt, xv, yv, penalties=np.array([penalty]))
    expected = sklearn_scores(balanced)
    assert got == {k: pytest.approx(v) for k, v in expected.items()}
    assert sklearn_scores(None)["accuracy"] > expected["accuracy"] + 0.02  # weighting matters here
