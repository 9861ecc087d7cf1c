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
    (_Returns(lambda x: x[:, 0]), r"_Returns: returned shape \(2, 4, 4\) for a batch of "
                                  r"\(2, 1, 4, 4\); expected \(2, D\) features"),
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
