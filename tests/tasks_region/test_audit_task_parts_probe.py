"""Known answers for frozen features and the logistic-regression probe (mutation audit of
mtneuro.tasks.features and probe): per-channel and one-sided normalisation, the encoder given
back in the mode it came in, C scored on validation rows scaled as the training rows and the
final model fitted on the training rows only, CV folds capped by the smallest class, and
contiguous folds down to one group or sample each."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.features import extract_features
from mtneuro.tasks.probe import LinearProbe, contiguous_folds


class _ChannelMeans(nn.Module):
    """The mean of each channel of each image: ``(B, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(dim=2)


def _two_channel(n: int = 5) -> np.ndarray:
    """Image i: channel 0 flat at 51 * (i % 2), channel 1 flat at 255 - 51 * i (uint8)."""
    images = np.zeros((n, 2, 3, 3), dtype=np.uint8)
    images[:, 0] = (51 * (np.arange(n) % 2))[:, None, None]
    images[:, 1] = (255 - 51 * np.arange(n))[:, None, None]
    return images


def test_per_channel_normalisation_uses_each_channels_mean_and_std():
    # batches of 2 over 5 images: the batch axis and the channel axis both have length 2
    images = _two_channel()
    features = extract_features(_ChannelMeans(), images, batch_size=2, mean=(0.1, 0.4),
                                std=(0.5, 0.25), channels_last=False)
    unit = images[:, :, 0, 0] / 255
    np.testing.assert_allclose(features, (unit - [0.1, 0.4]) / [0.5, 0.25], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("mean", "std"), [(0.5, 1.0), (0.0, 0.25), ((0.5,), 1.0)])
def test_a_mean_alone_or_a_std_alone_still_normalises(mean, std):
    images = _two_channel()
    features = extract_features(_ChannelMeans(), images, batch_size=3, mean=mean, std=std)
    m = mean[0] if isinstance(mean, tuple) else mean
    np.testing.assert_allclose(features, (images[:, :, 0, 0] / 255 - m) / std, rtol=0, atol=1e-6)


def test_an_encoder_in_eval_mode_is_given_back_in_eval_mode():
    encoder = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(18)).eval()
    extract_features(encoder, _two_channel(), batch_size=2)
    assert not encoder.training and not encoder[1].training


def test_3d_blocks_are_not_made_nhwc_even_for_an_encoder_without_convolutions():
    # no 5-D weights to say "3D": the blocks' rank alone keeps them out of NHWC (rank 4 only)
    blocks = np.full((3, 1, 2, 3, 3), 255, dtype=np.uint8)
    features = extract_features(nn.Flatten(), blocks, batch_size=2)
    np.testing.assert_array_equal(features, np.ones((3, 18), dtype=np.float32))


def test_no_images_and_empty_batches_are_refused():
    with pytest.raises(DataError, match="extract_features: no images"):
        extract_features(_ChannelMeans(), np.zeros((0, 2, 3, 3), dtype=np.uint8))
    with pytest.raises(ConfigError, match="batch_size: expected int >= 1, got 0"):
        extract_features(_ChannelMeans(), _two_channel(), batch_size=0)


# --- LinearProbe -------------------------------------------------------------------------


def _line(centre: float, spread: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One feature: class 0 at ``centre - spread``, class 1 at ``centre + spread``, +-0.1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = centre + spread * (2 * y - 1) + rng.uniform(-0.1, 0.1, n)
    return x[:, None], y


def test_c_is_scored_on_validation_rows_scaled_as_the_training_rows():
    # training classes meet at 100; every validation row sits above 100: read with the
    # training scale, all are class 1 (accuracy 0.5 whatever C); rescaled on their own
    # mean (101.5) they would split cleanly (1.0)
    x, y = _line(100.0, 1.0, 40, seed=0)
    xv, yv = _line(101.5, 1.0, 20, seed=1)
    probe = LinearProbe(Cs=(0.01, 1.0)).fit(x, y, xv, yv)
    assert probe.scores_.tolist() == [0.5, 0.5]
    assert probe.C_ == 0.01  # a tie keeps the first
    assert probe.predict(xv).tolist() == [1] * 20


def test_the_final_model_is_fitted_on_the_training_rows_only():
    # a validation set of flipped labels moves no weight: the model is the training fit
    from sklearn.linear_model import LogisticRegression

    x, y = _line(100.0, 1.0, 40, seed=0)
    xv, yv = _line(100.0, 1.0, 20, seed=1)
    probe = LinearProbe(Cs=(0.1, 1.0)).fit(x, y, xv, 1 - yv)
    assert probe.scores_.tolist() == [0.0, 0.0] and probe.C_ == 0.1
    reference = LogisticRegression(C=0.1, max_iter=1000).fit((x - x.mean()) / x.std(), y)
    np.testing.assert_allclose(probe.model_.coef_, reference.coef_, rtol=1e-6)
    np.testing.assert_allclose(probe.model_.intercept_, reference.intercept_, atol=1e-6)


def test_predictions_read_new_rows_with_the_training_scale():
    # features around 100: unscaled, every row would land far on one side of the boundary
    x, y = _line(100.0, 1.0, 40, seed=0)
    probe = LinearProbe(Cs=(1.0,)).fit(x, y)
    test = np.array([[98.9], [99.2], [100.8], [101.1]])
    assert probe.predict(test).tolist() == [0, 0, 1, 1]
    proba = probe.predict_proba(test)
    assert proba.argmax(axis=1).tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_cross_validation_folds_are_capped_by_the_smallest_class():
    # a class of 2 rows allows 2 stratified folds, not the 3 asked
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    y = np.array([0] * 2 + [1] * 12 + [2] * 12)
    x = np.eye(3, 4)[y] + rng.normal(0, 0.8, (26, 4))
    cs = (0.01, 1.0)
    probe = LinearProbe(Cs=cs, cv=3, seed=4).fit(x, y)
    folds = StratifiedKFold(2, shuffle=True, random_state=4)
    expected = [cross_val_score(make_pipeline(StandardScaler(),
                                              LogisticRegression(C=c, max_iter=1000)),
                                x, y, cv=folds).mean() for c in cs]
    np.testing.assert_allclose(probe.scores_, expected, rtol=0, atol=1e-12)


def test_a_class_of_one_row_leaves_no_folds_and_takes_the_c_nearest_one_with_a_warning():
    x, y = _line(0.0, 1.0, 9, seed=2)
    y[0] = 2  # one row of class 2: no stratified split of it
    with pytest.warns(UserWarning, match="class 2 has 1 training sample"):
        probe = LinearProbe(Cs=(0.25, 2.0, 8.0), cv=3).fit(x, y)
    assert np.isnan(probe.scores_).all() and probe.scores_.shape == (3,)
    assert probe.C_ == 2.0  # |log 2| < |log 0.25|


def test_one_c_is_taken_without_scoring_it():
    x, y = _line(0.0, 1.0, 20, seed=0)
    xv, yv = _line(0.0, 1.0, 10, seed=1)
    probe = LinearProbe(Cs=(3.0,)).fit(x, y, xv, yv)
    assert probe.C_ == 3.0 and np.isnan(probe.scores_).all() and probe.scores_.shape == (1,)


def test_a_constant_feature_is_kept_at_scale_one_and_bad_values_refused():
    # a dead encoder unit (constant column) must not divide by its zero std
    x, y = _line(0.0, 1.0, 20, seed=0)
    with_dead = np.hstack([x, np.full((20, 1), 7.0)])
    probe = LinearProbe(Cs=(1.0,)).fit(with_dead, y)
    assert probe.standardizer_.scale[1] == 1.0
    assert probe.score(with_dead, y) == 1.0
    with_dead[3, 0] = np.nan
    with pytest.raises(DataError, match="x: contains NaN or inf"):
        LinearProbe(Cs=(1.0,)).fit(with_dead, y)


def test_as_many_folds_as_groups_or_samples_make_one_fold_of_each():
    # three z slices, cv 3: one slice per fold; three samples, cv 3: one sample per fold
    groups = np.array([7, 3, 3, 9, 7, 9])
    folds = contiguous_folds(6, 3, groups)
    assert [sorted(set(groups[f].tolist())) for f in folds] == [[3], [7], [9]]
    assert [f.tolist() for f in contiguous_folds(3, 3)] == [[0], [1], [2]]
