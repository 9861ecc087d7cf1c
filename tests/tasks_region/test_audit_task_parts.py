"""Known answers for the pieces task 1 is built from (mutation audit of mtneuro.tasks.baselines,
mixup, region_head and region_inputs): the pixel baselines' intensities, component cap and
training-only fit; mixup's Beta(alpha, alpha) lambda, its permutation partners and alpha 0.2;
what the linear head and its predictions feed the encoder (unit intensities, normalised with
the given mean and std, the crop side in every epoch); whole tiles kept as read."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from mtneuro.errors import ConfigError, DataError, TrainingError
from mtneuro.tasks import region
from mtneuro.tasks.baselines import PixelDecomposition, flatten_images
from mtneuro.tasks.mixup import MIXUP_ALPHA, mixup_batch
from mtneuro.tasks.region_head import HeadSettings, predict_with_head, train_linear_head
from mtneuro.tasks.region_inputs import RegionInputs
from mtneuro.tasks.region_protocol import resolve_recipe
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.volume import SplitData

# --- pixel baselines ---------------------------------------------------------------------


def test_uint8_pixels_are_scaled_to_unit_intensities_and_floats_kept():
    grey = np.array([[[0, 51], [204, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(flatten_images(grey), [[0.0, 0.2, 0.8, 1.0]], rtol=0, atol=1e-7)
    floats = np.array([[[0.5, 3.0]]])  # float inputs are taken as they are, not rescaled
    assert flatten_images(floats).tolist() == [[0.5, 3.0]]
    with pytest.raises(DataError, match="non-empty"):
        flatten_images(np.zeros((0, 4, 4), dtype=np.uint8))


@pytest.mark.parametrize(("method", "n_images", "side", "kept"), [
    ("nmf", 5, 4, 5), ("nmf", 40, 2, 4), ("pca", 5, 4, 4), ("pca", 40, 2, 4)])
def test_components_are_capped_by_samples_and_by_pixels(method, n_images, side, kept):
    # 256 asked: 5 images of 16 pixels keep 5 NMF components but 4 PCA ones (centred, 5
    # samples span 4 dimensions); 40 images of 4 pixels keep 4
    images = np.random.default_rng(0).integers(1, 255, (n_images, 1, side, side), dtype=np.uint8)
    decomposition = PixelDecomposition(method, 256, max_iter=20).fit(images)
    assert decomposition.n_components_ == kept
    assert decomposition.transform(images).shape == (n_images, kept)


def test_every_kept_pca_component_carries_training_variance():
    """As many components as crops: the last one had no training variance, and a probe
    that standardises its features blew it up until it decided every prediction."""
    images = np.random.default_rng(2).integers(0, 255, (12, 1, 8, 8), dtype=np.uint8)
    decomposition = PixelDecomposition("pca", 12).fit(images)
    train = decomposition.transform(images)
    assert train.shape == (12, 11)
    assert train.std(axis=0).min() > 1e-3 * train.std(axis=0).max()


def test_zero_components_are_refused():
    with pytest.raises(ConfigError, match="n_components: expected int >= 1, got 0"):
        PixelDecomposition("pca", 0).fit(np.ones((3, 2, 2)))


def test_nmf_starts_from_the_deterministic_svd_start():
    # nndsvda starts from an SVD, whose randomized solver is all the seed moves: the same
    # factorisation to a few 1e-6 whatever the seed (random starts end far apart)
    images = np.random.default_rng(1).integers(0, 255, (12, 1, 4, 4), dtype=np.uint8)
    codes = [PixelDecomposition("nmf", 3, seed=s, max_iter=50).fit_transform(images)
             for s in (0, 1)]
    np.testing.assert_allclose(codes[0], codes[1], rtol=0, atol=1e-4)


def test_nmf_runs_the_configured_number_of_iterations():
    images = np.random.default_rng(2).integers(0, 255, (12, 1, 4, 4), dtype=np.uint8)
    decomposition = PixelDecomposition("nmf", 4, max_iter=3).fit(images)
    assert decomposition.model_.max_iter == 3 and decomposition.model_.n_iter_ == 3


def test_unseen_images_are_coded_with_the_training_components_only():
    # training images vary in pixel 0 only (mean 0.4), unseen ones in pixel 5 only: the one
    # component is pixel 0, on which every unseen image sits 0.6 from the training mean
    train = np.full((5, 1, 4, 4), 0.5)
    train[:, 0, 0, 0] = [0.0, 0.2, 0.4, 0.6, 0.8]
    unseen = np.full((4, 1, 4, 4), 0.5)
    unseen[:, 0, 0, 0] = 1.0
    unseen[:, 0, 1, 1] = [0.0, 0.3, 0.6, 0.9]
    pca = PixelDecomposition("pca", 1).fit(train)
    np.testing.assert_allclose(np.abs(pca.transform(unseen)), 0.6, rtol=0, atol=1e-6)
    nmf = PixelDecomposition("nmf", 2, max_iter=50).fit(train.astype(np.float32))
    factors = nmf.model_.components_.copy()
    nmf.transform(unseen)
    np.testing.assert_array_equal(nmf.model_.components_, factors)  # not refitted


def test_images_of_another_pixel_count_are_refused_by_name():
    pca = PixelDecomposition("pca", 2).fit(np.random.default_rng(0).random((6, 1, 4, 4)))
    with pytest.raises(DataError, match="expected 16 pixels per image .as fitted., got 9"):
        pca.transform(np.zeros((2, 1, 3, 3)))


# --- mixup -------------------------------------------------------------------------------


def test_supervised_mixup_trains_with_alpha_0_2_and_supervised_without(monkeypatch):
    assert MIXUP_ALPHA == 0.2  # docs/protocols.md: `supervised-mixup`, mixup (alpha 0.2)
    seen = {}

    def train(encoder, n_classes, train, val, settings, seed):
        seen[settings.mixup_alpha > 0] = settings.mixup_alpha
        return encoder, {}

    monkeypatch.setattr(region, "train_classifier", train)
    inputs = SimpleNamespace(train_x=None, train_y=None, val_x=None, val_y=None)
    for method in ("supervised-mixup", "supervised"):
        config = TASK1.make_config(None, {"method": method, "backbone": "resnet-tiny"})
        region.train_supervised(config, inputs, seed=0)
    assert seen == {True: 0.2, False: 0.0}


def _lambdas(alpha: float, n: int = 2000) -> np.ndarray:
    """``lam`` of ``n`` successive batches drawn from one generator, as an epoch does."""
    generator = torch.Generator().manual_seed(0)
    x, y = torch.zeros(2, 1), torch.tensor([0, 1])
    return np.array([mixup_batch(x, y, 2, alpha=alpha, generator=generator)[2]
                     for _ in range(n)])


@pytest.mark.parametrize("alpha", [0.2, 2.0])
def test_lambda_is_drawn_from_beta_alpha_alpha_anew_for_every_batch(alpha):
    lam = _lambdas(alpha)
    # Beta(a, a): symmetric about 1/2; a 0.2 puts most batches near one of their two sources
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    assert abs(lam.mean() - 0.5) < 0.03
    assert lam.var() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.1)


def test_each_sample_is_mixed_with_one_partner_of_a_permutation_and_its_label():
    # sample i holds the value i: a mixed value names its partner j = perm(i)
    x = torch.arange(8, dtype=torch.float64)[:, None]
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    generator = torch.Generator().manual_seed(3)
    moved = 0
    for _ in range(10):
        mixed, soft, lam = mixup_batch(x, y, 3, alpha=1.0, generator=generator)
        if not 0.05 < lam < 0.95:  # a partner is read back only where both weights show it
            continue
        partner = torch.round((mixed[:, 0] - lam * x[:, 0]) / (1 - lam)).long()
        assert sorted(partner.tolist()) == list(range(8))  # every sample used once
        moved += int((partner != torch.arange(8)).sum())
        expected = lam * nn.functional.one_hot(y, 3) + (1 - lam) * nn.functional.one_hot(
            y[partner], 3)
        torch.testing.assert_close(soft, expected.to(soft.dtype))
    assert moved > 0  # partners are other samples, not each sample itself


# --- the task-1 linear head --------------------------------------------------------------


class _Recorder(nn.Module):
    """Flattens its input; records each input and its training flag."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[torch.Tensor] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        self.modes.append(self.training)
        return x.flatten(1)


def _tiles(n: int = 8, side: int = 4) -> tuple[torch.Tensor, np.ndarray]:
    images = torch.arange(n * side * side, dtype=torch.int64).reshape(n, 1, side, side)
    return (images * 7 % 256).to(torch.uint8), np.arange(n) % 4


@pytest.mark.parametrize(("normalise", "mean", "std"), [(True, 0.4894, 0.1238),
                                                          (False, 0.4894, 0.1238)])
def test_head_and_prediction_feed_unit_intensities_normalised_with_the_given_constants(
        normalise, mean, std):
    images, labels = _tiles()
    settings = HeadSettings(epochs=1, batch_size=4, crop=None, normalise=normalise)
    encoder = _Recorder()
    head = train_linear_head(encoder, 4, images, labels, settings, mean=mean, std=std, seed=0)
    unit = images.float() / 255
    want = (unit - mean) / std if normalise else unit
    every_tile = torch.cat(encoder.inputs[1:])  # after the probe of the head's width
    assert sorted(every_tile.flatten(1).tolist()) == sorted(want.flatten(1).tolist())
    encoder.inputs.clear()
    predict_with_head(encoder, head, images, settings, mean=mean, std=std)
    torch.testing.assert_close(torch.cat(encoder.inputs), want)


def test_every_training_batch_of_every_epoch_is_one_crop_of_the_configured_side():
    images, labels = _tiles(8, side=6)
    encoder = _Recorder()
    settings = HeadSettings(epochs=3, batch_size=4, crop=2, normalise=False)
    head = train_linear_head(encoder, 4, images, labels, settings, mean=0.0, std=1.0, seed=0)
    assert head.in_features == 4  # the width of a 2 x 2 crop, not of a whole tile
    assert [tuple(x.shape) for x in encoder.inputs[1:]] == [(4, 1, 2, 2)] * 6


def test_a_head_whose_loss_is_not_finite_stops_with_its_lr():
    images, labels = _tiles()

    class Huge(nn.Module):  # finite features whose logits overflow once the head has moved
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full((len(x), 2), 1e30)

    settings = HeadSettings(epochs=1, batch_size=4, crop=None, lr=0.25)
    with pytest.raises(TrainingError, match=r"linear head diverged .* lower its lr \(0.25\)"):
        train_linear_head(Huge(), 4, images, labels, settings, mean=0.0, std=1.0, seed=0)


def test_predictions_cover_every_image_in_eval_mode_whatever_the_batch_remainder():
    # the head reads the pixels themselves: the predicted class is the brightest pixel
    images = torch.tensor([[0.9, 0.1, 0.2], [0.1, 0.8, 0.3], [0.0, 0.1, 0.7],
                           [0.2, 0.9, 0.0], [0.3, 0.0, 0.6]]).reshape(5, 1, 1, 3)
    head = nn.Linear(3, 3)
    with torch.no_grad():
        head.weight.copy_(torch.eye(3))
        head.bias.zero_()
    encoder = _Recorder().train()
    settings = HeadSettings(crop=None, normalise=False)
    pred = predict_with_head(encoder, head, images, settings, mean=0.0, std=1.0, batch_size=2)
    assert pred.tolist() == [0, 1, 2, 1, 2]
    assert encoder.modes == [False, False, False]


@pytest.mark.parametrize("training", [True, False])
def test_the_head_hands_the_encoder_back_in_the_mode_it_was_given(training):
    # the encoder runs in eval mode (its frozen features) inside both calls; the caller's
    # mode is theirs to keep, as extract_features keeps it
    encoder = _Recorder().train(training)
    images = torch.rand(4, 1, 1, 2)
    settings = HeadSettings(optimizer="sgd", lr=0.1, epochs=1, batch_size=2, crop=None,
                            normalise=False)
    head = train_linear_head(encoder, 2, images, [0, 1, 0, 1], settings, mean=0.0, std=1.0,
                             seed=0)
    assert encoder.training is training
    predict_with_head(encoder, head, images, settings, mean=0.0, std=1.0)
    assert encoder.training is training
    assert encoder.modes == [False] * 4  # the width probe, 2 training batches, 1 prediction


# --- task-1 inputs -----------------------------------------------------------------------


def test_whole_tiles_are_kept_as_read_for_training_and_scored_as_whole_tiles():
    rng = np.random.default_rng(0)
    data = {split: SplitData(rng.integers(0, 256, (n, 1, 8, 8), dtype=np.uint8),
                             np.arange(n) % 4, np.arange(n))
            for split, n in (("train", 6), ("val", 3), ("test", 5))}
    supervised = resolve_recipe(TASK1.make_config(None, {"method": "supervised"}))
    inputs = RegionInputs(data, supervised)
    assert inputs.train_x.dtype == torch.uint8  # converted one batch at a time, later
    assert np.array_equal(inputs.train_x.numpy(), data["train"].images)
    assert inputs.train_y.tolist() == data["train"].labels.tolist()
    for split in ("val", "test"):
        assert np.array_equal(getattr(inputs, f"{split}_x").numpy(), data[split].images)
        assert getattr(inputs, f"{split}_y").tolist() == data[split].labels.tolist()
    assert inputs.test_tile.tolist() == list(range(5))
    assert inputs.train_crops_x is inputs.train_x
