"""Readout selection over the penalty grid: reported validation scores, ties."""

import numpy as np
import pytest

from mtneuro.tasks.neural.metrics import reach_accuracy
from mtneuro.tasks.neural.readouts import PENALTY_GRID, fit_angle_readout, fit_state_readout
from mtneuro.tasks.scores import accuracy_and_f1


def test_the_grid_is_two_to_the_minus_10_to_two_to_the_9():
    np.testing.assert_array_equal(PENALTY_GRID, 2.0 ** np.arange(-10, 10))


def test_angle_readout_reports_the_validation_scores_of_the_penalty_it_keeps():
    rng = np.random.default_rng(4)
    angle = rng.integers(0, 8, 260) * np.pi / 4
    x = np.stack([np.cos(angle), np.sin(angle)], 1) @ rng.normal(size=(2, 30))
    x += 1.5 * rng.normal(size=x.shape)  # noisy: the grid's penalties score differently
    ro = fit_angle_readout(x[:60], angle[:60], x[60:], angle[60:])
    assert ro.penalty_ != PENALTY_GRID[0]
    assert ro.val_ == pytest.approx(reach_accuracy(ro.predict(x[60:]), angle[60:]))


def test_state_readout_reports_the_validation_scores_of_the_penalty_it_keeps():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 20)) + 0.6 * np.eye(3, 20)[y]
    ro = fit_state_readout(x[:60], y[:60], x[60:], y[60:], penalties=2.0 ** np.arange(-4, 6))
    assert ro.val_ == pytest.approx(accuracy_and_f1(y[60:], ro.predict(x[60:])))


def test_with_nothing_to_learn_both_readouts_keep_the_smallest_penalty():
    """Constant features: every penalty predicts alike, a full tie, and the first penalty of
    the grid (the smallest) is kept, by the angle and the state readout alike."""
    rng = np.random.default_rng(6)
    x = np.ones((80, 4))
    angle = rng.integers(0, 8, 80) * np.pi / 4
    label = rng.integers(0, 2, 80)
    assert fit_angle_readout(x[:60], angle[:60], x[60:], angle[60:]).penalty_ == 2.0**-10
    grid = 2.0 ** np.arange(-3, 3)
    state = fit_state_readout(x[:60], label[:60], x[60:], label[60:], penalties=grid)
    assert state.penalty_ == 2.0**-3


def _shifted(x):
    """The same validation bins seen through a different scale and offset."""
    return 50.0 * x + 7.0


def test_angle_readout_scales_features_with_training_statistics_only():
    """With one penalty nothing is chosen on validation: validation features cannot move the fit."""
    rng = np.random.default_rng(7)
    angle = rng.integers(0, 8, 200) * np.pi / 4
    x = np.stack([np.cos(angle), np.sin(angle)], 1) @ rng.normal(size=(2, 6))
    x = x * rng.uniform(0.5, 5, 6) + rng.normal(size=(200, 6))
    one = np.array([1.0])
    a = fit_angle_readout(x[:100], angle[:100], x[100:150], angle[100:150], one)
    b = fit_angle_readout(x[:100], angle[:100], _shifted(x[100:150]), angle[100:150], one)
    np.testing.assert_allclose(a.predict(x[150:]), b.predict(x[150:]))
    np.testing.assert_allclose(a.scaler_(x[:100]).mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(a.scaler_(x[:100]).std(axis=0), 1.0)


def test_state_readout_scales_features_with_training_statistics_only():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 240)
    x = (rng.normal(size=(240, 5)) + np.eye(3, 5)[y]) * rng.uniform(0.5, 5, 5)
    one = np.array([0.05])
    a = fit_state_readout(x[:120], y[:120], x[120:180], y[120:180], one)
    b = fit_state_readout(x[:120], y[:120], _shifted(x[120:180]), y[120:180], one)
    np.testing.assert_allclose(a.model_.coef_, b.model_.coef_)
    np.testing.assert_allclose(a.scaler_(x[:120]).std(axis=0), 1.0)


def _angle_data(seed, n_train=40, n_val=16, d=30):
    rng = np.random.default_rng(seed)
    angle = rng.integers(0, 8, n_train + n_val) * np.pi / 4
    x = np.stack([np.cos(angle), np.sin(angle)], 1) @ rng.normal(size=(2, d))
    x += 2.0 * rng.normal(size=x.shape)
    return x[:n_train], angle[:n_train], x[n_train:], angle[n_train:]


@pytest.mark.parametrize("seed", range(12))
def test_angle_readout_keeps_the_penalty_the_documented_ranking_prefers(seed):
    """Oracle: each penalty fitted alone, ranked by validation accuracy, then delta-accuracy,
    then lower mean angular error, then grid order."""
    xt, at, xv, av = _angle_data(seed)
    ranks = []
    for i, penalty in enumerate(PENALTY_GRID):
        val = fit_angle_readout(xt, at, xv, av, np.array([penalty])).val_
        ranks.append((-val["accuracy"], -val["delta_accuracy"], val["mean_angular_error"], i))
    best = min(ranks)[-1]
    ro = fit_angle_readout(xt, at, xv, av)
    assert ro.penalty_ == PENALTY_GRID[best]
    assert ro.val_["accuracy"] == -min(ranks)[0]


def _state_data(seed, imbalanced):
    rng = np.random.default_rng(seed)
    if imbalanced:  # 90 bins, classes 60/30/10%: accuracy and weighted F1 can disagree
        y = rng.choice(3, 90, p=[0.6, 0.3, 0.1])
        x = rng.normal(size=(90, 10)) + 0.8 * np.eye(3, 10)[y]
        return x[:45], y[:45], x[45:], y[45:]
    y = rng.integers(0, 3, 60)  # 20 validation bins: ties on both scores are common
    x = rng.normal(size=(60, 10)) + 0.6 * np.eye(3, 10)[y]
    return x[:40], y[:40], x[40:], y[40:]


@pytest.mark.parametrize(("seed", "imbalanced"), [(22, True), (50, True), (0, False), (1, False),
                                                  (3, False), (6, False)])
def test_state_readout_keeps_the_penalty_the_documented_ranking_prefers(seed, imbalanced):
    """Oracle: validation accuracy, then weighted F1, then grid order."""
    xt, yt, xv, yv = _state_data(seed, imbalanced)
    grid = 2.0 ** np.arange(-6, 6)
    ranks = []
    for i, penalty in enumerate(grid):
        val = fit_state_readout(xt, yt, xv, yv, np.array([penalty])).val_
        ranks.append((-val["accuracy"], -val["f1_weighted"], i))
    ro = fit_state_readout(xt, yt, xv, yv, grid)
    assert ro.penalty_ == grid[min(ranks)[-1]]


def test_state_readout_minimises_mean_balanced_loss_plus_penalty_times_squared_norm():
    """The documented objective, mean_i w_i loss_i + penalty ||W||^2 (w: balanced class
    weights): its gradient vanishes at the fitted weights."""
    rng = np.random.default_rng(9)
    y = rng.choice(3, 300, p=[0.5, 0.3, 0.2])
    x = rng.normal(size=(300, 4)) + 1.5 * np.eye(3, 4)[y]
    penalty = 0.05
    ro = fit_state_readout(x[:200], y[:200], x[200:], y[200:], np.array([penalty]))
    xs, yt = ro.scaler_(x[:200]), y[:200]
    weight = (len(yt) / (3 * np.bincount(yt)))[yt]
    logits = xs @ ro.model_.coef_.T + ro.model_.intercept_
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    residual = (prob - np.eye(3)[yt]) * weight[:, None]
    grad = xs.T @ residual / len(yt) + 2 * penalty * ro.model_.coef_.T
    penalty_term = np.abs(2 * penalty * ro.model_.coef_).max()
    assert penalty_term > 0.01  # the penalty matters here
    assert np.abs(grad).max() < 0.05 * penalty_term


@pytest.mark.parametrize("seed", [41, 44, 63])
def test_ridge_classifier_reports_the_best_penalty_by_accuracy_then_f1(seed):
    """The sleep checkpoint score: over the grid, the best validation accuracy, ties broken by
    weighted F1 (these seeds have a penalty with higher F1 but lower accuracy)."""
    from mtneuro.tasks.neural.readouts import fit_balanced_ridge_classifier

    rng = np.random.default_rng(seed)
    y = rng.choice(3, 90, p=[0.6, 0.3, 0.1])
    x = rng.normal(size=(90, 10)) + 0.8 * np.eye(3, 10)[y]
    args = x[:45], y[:45], x[45:], y[45:]
    each = [fit_balanced_ridge_classifier(*args, np.array([p])) for p in PENALTY_GRID]
    best = max(each, key=lambda v: (v["accuracy"], v["f1_weighted"]))
    assert max(v["f1_weighted"] for v in each) > best["f1_weighted"]
    assert fit_balanced_ridge_classifier(*args) == best
