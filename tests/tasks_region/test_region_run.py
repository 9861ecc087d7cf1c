"""Task 1 end to end on synthetic splits whose answer is known, plus the input protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.stats import mean_std
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.scores import classification_metrics
from mtneuro.tasks.tile_inputs import quadrant_crops, resize_tiles
from mtneuro.tasks.volume import SplitData


def task1_config(**values):
    """A validated ``Task1Config``, as the CLI builds it without a preset."""
    return TASK1.make_config(None, values)


def _splits(seed: int = 0, side: int = 32) -> dict[str, SplitData]:
    """Tiles whose class sets the brightness and stripe period: linearly separable."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", 48), ("val", 16), ("test", 16)):
        labels = np.arange(n) % 4
        x = np.arange(side)
        stripes = np.sin(2 * np.pi * x / (4 + 2 * labels[:, None]))[:, None, :]  # (n, 1, side)
        base = 60 + 40 * labels[:, None, None] + 20 * stripes
        tiles = base + rng.normal(0, 5, (n, side, side))
        out[split] = SplitData(
            np.clip(tiles, 0, 255).astype(np.uint8)[:, None], labels, np.arange(n)
        )
    return out


def test_pca_probe_on_separable_tiles_is_perfect():
    config = task1_config(method="pca", seeds=[0, 1], protocol="resized", input_size=16,
                          n_components=8)
    result = run_task1(config, _splits())
    assert result["accuracy"] == {"mean": 1.0, "std": 0.0, "n": 2}
    assert result["n_test"] == 64  # 16 test tiles x 4 quadrant crops
    assert np.trace(np.asarray(result["confusion"])) == 128  # summed over 2 seeds
    assert result["per_seed"][0]["n_components"] == 8


def test_supervised_learns_separable_tiles():
    config = task1_config(
        method="supervised",
        seeds=[0],
        protocol="resized",
        input_size=16,
        backbone="resnet-tiny",
        epochs=4,
        batch_size=8,
        device="auto",  # runs where "auto" points (torch itself knows no device "auto")
    )
    result = run_task1(config, _splits())
    assert result["accuracy"]["mean"] >= 0.9
    assert 1 <= result["per_seed"][0]["best_epoch"] <= 4


def test_auto_device_is_resolved_for_the_task_and_its_pretraining():
    from mtneuro.devices import with_run_device

    here = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = with_run_device(task1_config(method="myow", device="auto"))
    assert (resolved.device, resolved.pretrain.device) == (here, here)
    assert with_run_device(task1_config(method="pca", device="cpu")).device == "cpu"


def test_frozen_encoder_probe_runs_and_reports_consistent_metrics():
    config = task1_config(
        method="encoder", encoder="resnet-tiny", seeds=[0], protocol="resized", input_size=16,
        test_crops="none",
    )
    result = run_task1(config, _splits())
    seed = result["per_seed"][0]
    assert result["n_test"] == 16 and np.sum(seed["confusion"]) == 16
    assert 0.0 <= seed["accuracy"] <= 1.0


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="method encoder"):
        run_task1(task1_config(method="encoder"), _splits())
    with pytest.raises(ConfigError, match="unknown key"):
        task1_config(methd="pca")
    with pytest.raises(ConfigError, match="setting"):
        task1_config(setting="roi-c4")


def test_classification_metrics_and_mean_std_known_values():
    m = classification_metrics(np.array([0, 0, 1, 1, 2, 3]), np.array([0, 1, 1, 1, 2, 0]))
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class_accuracy"] == [0.5, 1.0, 1.0, 0.0]
    assert m["confusion"][0] == [1, 1, 0, 0] and m["confusion"][3] == [1, 0, 0, 0]
    assert mean_std([0.5, 0.7]) == {
        "mean": pytest.approx(0.6),
        "std": pytest.approx(np.std([0.5, 0.7], ddof=1)),
        "n": 2,
    }


def test_quadrant_crops_order_and_resize_keeps_constant_images():
    tiles = torch.arange(2 * 16).float().reshape(2, 1, 4, 4)
    crops, labels = quadrant_crops(tiles, np.array([3, 1]))
    assert crops.shape == (8, 1, 2, 2) and labels.tolist() == [3, 3, 3, 3, 1, 1, 1, 1]
    assert crops[1, 0].tolist() == [[2.0, 3.0], [6.0, 7.0]]  # tile 0, top-right
    assert crops[6, 0].tolist() == [[24.0, 25.0], [28.0, 29.0]]  # tile 1, bottom-left
    flat = resize_tiles(np.full((3, 1, 2, 64, 64), 51, dtype=np.uint8), 16)
    assert flat.shape == (3, 1, 2, 16, 16) and torch.allclose(flat, torch.full_like(flat, 0.2))


@pytest.mark.parametrize("shape, size", [((256, 256), 64), ((256, 256), 128), ((37, 53), 16),
                                         ((20, 20), 30)])
def test_resize_is_pillows_hamming_filter_on_float_images(shape, size):
    # The reference: transforms.Resize((size, size), 5) on Image.fromarray(tile / 255).
    from PIL import Image

    tiles = np.random.default_rng(0).integers(0, 256, (2, 1, *shape), dtype=np.uint8)
    resized = resize_tiles(tiles, size)
    for tile, ours in zip(tiles, resized, strict=True):
        image = Image.fromarray((tile[0] / 255).astype(np.float32), mode="F")
        expected = np.asarray(image.resize((size, size), Image.Resampling.HAMMING))
        np.testing.assert_allclose(ours[0].numpy(), expected, rtol=0, atol=2e-7)


def test_3d_blocks_run_through_the_same_protocol():
    splits = {
        k: SplitData(np.repeat(v.images[:, :, None], 8, axis=2), v.labels, v.z)
        for k, v in _splits().items()
    }
    config = task1_config(method="pca", dim="3d", seeds=[0], protocol="resized", input_size=16,
                          n_components=8)
    result = run_task1(config, splits)
    assert result["dim"] == "3d" and result["accuracy"]["mean"] == 1.0


class _ConstantEncoder(torch.nn.Module):
    """Features that ignore the image: no readout can tell the regions apart from them."""

    out_dim = 4
    input_spec = {"spatial_dims": 2, "in_channels": 1, "size": 16}

    def forward(self, x):
        return torch.ones(x.shape[0], 4)


def test_a_readout_that_predicts_one_region_for_every_image_is_said():
    config = task1_config(method="encoder", seeds=[0], protocol="resized", input_size=16)
    with pytest.warns(UserWarning, match="encoder, seed 0: every test image was predicted as "):
        result = run_task1(config, _splits(), encoder=_ConstantEncoder())
    assert result["accuracy"]["mean"] == 0.25  # the share of the one class predicted


def test_a_registered_encoder_name_says_its_weights_are_random():
    from mtneuro.models.user import resolve_encoder

    with pytest.warns(UserWarning, match="'resnet-tiny' is a registered architecture with random"):
        resolve_encoder("resnet-tiny")
