"""Probes with known answers: separable classes, exact linear targets, pure noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.probe import (
    LinearProbe,
    RidgeProbe,
    contiguous_folds,
    extract_features,
    r2_scores,
)


def _separable(seed: int, n: int = 120):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    centres = 6.0 * np.eye(4, 10)
    return centres[y] + rng.standard_normal((n, 10)), y


def test_linear_probe_separates_separable_classes_and_picks_c_on_validation():
    x, y = _separable(0)
    xv, yv = _separable(1, 40)
    xt, yt = _separable(2, 80)
    probe = LinearProbe(Cs=(1e-4, 1.0)).fit(x, y, xv, yv)
    assert probe.score(xt, yt) == 1.0
    assert probe.scores_.shape == (2,) and probe.C_ in (1e-4, 1.0)
    assert probe.predict_proba(xt).shape == (80, 4)
    # without a validation set C comes from cross-validation on the training set
    assert LinearProbe(Cs=(0.1, 1.0), cv=3).fit(x, y).score(xt, yt) == 1.0


def test_linear_probe_keeps_the_c_that_wins_on_validation_whatever_its_place():
    # One class in five: a probe penalised to nothing (C 1e-4) says "majority" (0.8 on
    # validation); C 1 separates the classes (1.0). The better C is kept in either order.
    def data(seed, n):
        rng = np.random.default_rng(seed)
        y = (np.arange(n) % 5 == 0).astype(int)
        return 6.0 * np.eye(2, 10)[y] + rng.standard_normal((n, 10)), y

    (x, y), (xv, yv) = data(0, 120), data(1, 40)
    for cs, scores in (((1e-4, 1.0), [0.8, 1.0]), ((1.0, 1e-4), [1.0, 0.8])):
        probe = LinearProbe(Cs=cs).fit(x, y, xv, yv)
        assert probe.C_ == 1.0 and probe.scores_.tolist() == scores


def test_linear_probe_rejects_single_class_and_bad_cs():
    x, y = _separable(0)
    with pytest.raises(DataError, match="2 classes"):
        LinearProbe().fit(x, np.zeros(len(x), dtype=int))
    with pytest.raises(ConfigError, match="Cs"):
        LinearProbe(Cs=(0.0,)).fit(x, y)
    with pytest.raises(DataError, match="x_val and y_val: give both"):
        LinearProbe().fit(x, y, x[:10])


def test_ridge_recovers_exact_linear_targets():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8))
    w = rng.standard_normal((8, 3))
    y = x @ w + np.array([1.0, -2.0, 5.0])
    probe = RidgeProbe(alphas=(1e-6, 1e-3, 1.0, 100.0)).fit(x, y)
    assert probe.alpha_.tolist() == [1e-6] * 3  # no noise: the least penalty wins
    np.testing.assert_allclose(probe.coef_, w, atol=1e-4)
    np.testing.assert_allclose(probe.predict(x), y, atol=1e-4)
    assert np.all(probe.score(x, y) > 0.9999)


def test_ridge_picks_strong_penalty_for_pure_noise_and_single_output_shape():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((150, 40)), rng.standard_normal(150)
    probe = RidgeProbe(alphas=(1e-3, 1e5)).fit(x, y)
    assert probe.alpha_.tolist() == [1e5]
    assert probe.predict(x).shape == (150,)
    with pytest.raises(ConfigError, match="alphas"):
        RidgeProbe(alphas=(-1.0,)).fit(x, y)


def test_r2_scores_and_contiguous_folds():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_scores(y, y) == pytest.approx(1.0)
    assert r2_scores(y, np.full(4, 2.5)) == pytest.approx(0.0)
    assert np.isnan(r2_scores(np.ones(4), np.zeros(4)))
    groups = np.array([5, 5, 1, 1, 3, 3, 9, 9])
    folds = contiguous_folds(8, 2, groups)
    assert [sorted(groups[f].tolist()) for f in folds] == [[1, 1, 3, 3], [5, 5, 9, 9]]
    assert [f.tolist() for f in contiguous_folds(5, 2)] == [[0, 1, 2], [3, 4]]
    # fewer groups than samples: the samples past them would never be validated
    with pytest.raises(DataError, match=r"groups: expected one per sample, shape \(40,\)"):
        contiguous_folds(40, 2, np.arange(10))


def _drifting(seed: int, n: int = 60, d: int = 6):
    """Features whose scales drift along the sample order, as features of z slices can: a
    fold's training rows then have another mean and std than all rows."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * np.linspace(0.2, 3.0, n)[:, None] ** np.sqrt(np.arange(d))
    return x, rng


def _folds(n: int, cv: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.setdiff1d(np.arange(n), val), val) for val in contiguous_folds(n, cv)]


def test_ridge_cv_scales_each_fold_on_its_training_rows_as_a_sklearn_pipeline():
    """The CV error of every alpha and the chosen alpha are those of
    GridSearchCV(StandardScaler -> Ridge) over the same folds; a scaler fitted on all
    rows (the old probe) let the validation rows in and chose another alpha here."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, rng = _drifting(3)
    y = x[:, :2] @ rng.standard_normal((2, 2)) + rng.standard_normal((60, 2))
    alphas = (0.1, 1.0, 10.0, 100.0)
    probe = RidgeProbe(alphas=alphas, cv=3).fit(x, y)

    def grid(model, key, xx, j):
        return GridSearchCV(model, {key: alphas}, cv=_folds(60, 3),
                            scoring="neg_mean_squared_error").fit(xx, y[:, j])

    leaky = []
    for j in range(2):
        honest = grid(make_pipeline(StandardScaler(), Ridge()), "ridge__alpha", x, j)
        # equal folds: sklearn's mean of fold MSEs is the probe's pooled one, in y units
        mse = probe.cv_mse_[:, j] * probe.y_scale_.scale[j] ** 2
        np.testing.assert_allclose(mse, -honest.cv_results_["mean_test_score"], rtol=1e-10)
        assert probe.alpha_[j] == honest.best_params_["ridge__alpha"]
        leaky.append(grid(Ridge(), "alpha", StandardScaler().fit_transform(x), j)
                     .best_params_["alpha"])
    # the case discriminates: standardising on all rows first picks another alpha
    assert leaky != probe.alpha_.tolist()


def test_logistic_cv_scales_each_fold_on_its_training_rows_as_a_sklearn_pipeline():
    """The CV accuracy of every C and the chosen C are those of
    GridSearchCV(StandardScaler -> LogisticRegression) over the probe's folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    y = np.arange(90) % 3
    # a tenth of the rows 8x larger: the folds' feature stds differ from all rows' stds
    x = (np.eye(3, 6)[y] + rng.standard_normal((90, 6))) * rng.uniform(0.1, 5.0, 6) * np.where(
        rng.random((90, 1)) < 0.1, 8.0, 1.0)
    cs = (1e-3, 1e-2, 1e-1, 1.0)
    probe = LinearProbe(Cs=cs, cv=3, seed=5).fit(x, y)

    def grid(model, key, xx):
        folds = StratifiedKFold(3, shuffle=True, random_state=5)
        return GridSearchCV(model, {key: cs}, cv=folds).fit(xx, y)

    honest = grid(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                  "logisticregression__C", x)
    np.testing.assert_allclose(probe.scores_, honest.cv_results_["mean_test_score"], atol=1e-12)
    assert probe.C_ == honest.best_params_["logisticregression__C"]
    leaky = grid(LogisticRegression(max_iter=1000), "C", StandardScaler().fit_transform(x))
    assert not np.allclose(leaky.cv_results_["mean_test_score"], probe.scores_)


def test_r2_scores_equal_sklearn_per_target_and_nan_for_a_constant_target():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    y = rng.standard_normal((30, 3))
    pred = y + rng.standard_normal((30, 3))
    got = r2_scores(y, pred)
    assert isinstance(got, np.ndarray) and got.shape == (3,)
    np.testing.assert_allclose(got, r2_score(y, pred, multioutput="raw_values"), rtol=1e-12)
    # one target (n,): a float, as sklearn's
    one = r2_scores(y[:, 0], pred[:, 0])
    assert type(one) is float and one == pytest.approx(r2_score(y[:, 0], pred[:, 0]), rel=1e-12)
    # a constant target's R^2 is undefined: NaN, where sklearn says 1.0 (exact) or 0.0
    y[:, 1] = 2.0
    got = r2_scores(y, pred)
    assert np.isnan(got[1]) and np.isnan(r2_scores(y[:, 1], y[:, 1]))
    assert r2_score(y[:, 1], y[:, 1]) == 1.0 and r2_score(y[:, 1], pred[:, 1]) == 0.0
    np.testing.assert_allclose(got[[0, 2]], r2_score(y[:, [0, 2]], pred[:, [0, 2]],
                                                     multioutput="raw_values"), rtol=1e-12)


@pytest.mark.parametrize("value", [0.1, 0.3, 0.7, 12.7])
def test_a_constant_target_of_an_inexact_value_is_nan_too(value):
    # ten 0.3s have a mean off in the last bit: sst ~3e-32, not 0, gave R² of -3e28
    y = np.full(10, value)
    assert np.isnan(r2_scores(y, y + 0.01))
    assert np.isnan(r2_scores(np.stack([y, np.arange(10.0)], 1), np.zeros((10, 2)))[0])


def test_r2_scores_refuses_shapes_that_would_broadcast():
    """(n,) against (n, 1) broadcast to an (n, n) table and gave n wrong scores."""
    y = np.arange(5.0)
    with pytest.raises(DataError, match=r"r2_scores: .* got \(5,\) and \(5, 1\)"):
        r2_scores(y, y[:, None])


def test_ridge_score_is_a_float_for_one_target_and_an_array_for_several():
    x, rng = _drifting(0)
    y = x[:, :2] + 0.1 * rng.standard_normal((60, 2))
    single = RidgeProbe(alphas=(1e-3, 1.0)).fit(x, y[:, 0]).score(x, y[:, 0])
    several = RidgeProbe(alphas=(1e-3, 1.0)).fit(x, y).score(x, y)
    assert type(single) is float and several.shape == (2,)


def test_extract_features_batches_no_grad_eval_mode_and_restores_training():
    class Probe(nn.Module):
        out_dim = 2

        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(1)
            self.seen_training = []

        def forward(self, x):
            self.seen_training.append(self.training)
            assert not torch.is_grad_enabled()
            m = x.flatten(1).mean(dim=1, keepdim=True)
            return torch.cat([m, 2 * m], dim=1)

    enc = Probe().train()
    images = np.full((5, 1, 4, 4), 255, dtype=np.uint8)
    feats = extract_features(enc, images, batch_size=2, mean=0.5, std=0.5)
    assert feats.shape == (5, 2) and np.allclose(feats, [[1.0, 2.0]])
    assert enc.seen_training == [False, False, False] and enc.training


class _Returns(nn.Module):
    """An encoder returning ``make(x)``, with ``out_dim`` if given."""

    def __init__(self, make, out_dim=None):
        super().__init__()
        self.make = make
        if out_dim is not None:
            self.out_dim = out_dim

    def forward(self, x):
        return self.make(x)


@pytest.mark.parametrize(("encoder", "needle"), [
    (_Returns(lambda x: x[:, 0]), (r"_Returns: returned shape \(2, 4, 4\) for a batch of "
                                   r"\(2, 1, 4, 4\); expected \(2, D\) features")),
    (_Returns(lambda x: (x.flatten(1),)), r"_Returns: returned tuple; expected a \(B, D\) tensor"),
    (_Returns(lambda x: x.flatten(1), out_dim=99), "declares out_dim 99 but returned 16 features"),
    (_Returns(lambda x: x.flatten(1).log()), "16 of its 48 feature values are NaN or inf"),
])
def test_features_that_break_the_encoder_contract_are_named(encoder, needle):
    """(B, H, W) was flattened and scored, a declared out_dim never checked, a tuple or NaN
    features failed deep inside (AttributeError, "x: contains NaN or inf")."""
    images = np.full((3, 1, 4, 4), 255, dtype=np.uint8)
    images[2] = 0  # log(0) = -inf: the third image's 16 features
    with pytest.raises(DataError, match=needle):
        extract_features(encoder, images, batch_size=2)
