"""Crop and window sides a model cannot take are refused when the config is built (not after
an epoch of training), and the size table matches what the networks really accept."""

from __future__ import annotations

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.input_sides import MODEL_INPUT_DEPTHS, MODEL_INPUT_SIDES
from mtneuro.models.segmentation import SEGMENTATION_MODELS as NETWORKS
from mtneuro.models.segmentation import input_side, model_dim
from mtneuro.tasks.segmentation.config import Task2Config, task2_config
from mtneuro.vocab import SEGMENTATION_MODELS


def test_every_model_has_an_input_side():
    assert set(MODEL_INPUT_SIDES) == set(SEGMENTATION_MODELS)
    assert input_side("pan").multiple == 16 and input_side("pan").minimum == 128


def test_window_a_3d_unet_cannot_take_is_refused_when_the_config_is_built():
    # the audit's case: trained an epoch on 32-px crops, then failed on 100-px windows
    with pytest.raises(ConfigError, match=r"^window: model 'unet3d' takes sides that are a "
                                          r"multiple of 8, got 100; use e\.g\. 96 or 104$"):
        task2_config(model="unet3d", window=100, train={"crop": 32})
    assert task2_config(model="unet3d", window=96, train={"crop": 32}).window == 96


@pytest.mark.parametrize(("model", "crop", "multiple"),
                         [("vnet", 60, 8), ("manet", 48, 32), ("unetplusplus", 80, 32),
                          ("fpn", 200, 32), ("pspnet", 30, 8)])
def test_crop_a_model_cannot_take_is_refused(model, crop, multiple):
    with pytest.raises(ConfigError, match=rf"^train\.crop: model '{model}' takes sides that "
                                          rf"are a multiple of {multiple}, got {crop}"):
        task2_config(model=model, train={"crop": crop})


def test_pan_needs_multiples_of_16_from_128():
    with pytest.raises(ConfigError, match=r"train\.crop: .*'pan'.* a multiple of 16, at least "
                                          r"128, got 64; use e\.g\. 128"):
        task2_config(model="pan", train={"crop": 64})
    with pytest.raises(ConfigError, match=r"window: .*'pan'.*got 136; use e\.g\. 128 or 144"):
        task2_config(model="pan", window=136, train={"crop": 128})
    assert task2_config(model="pan", window=144, train={"crop": 128}).window == 144


def test_the_library_run_checks_a_config_built_as_a_dataclass():
    from mtneuro.tasks.segmentation.config import TrainSettings
    from mtneuro.tasks.segmentation.run import run_task2

    config = Task2Config(model="vnet", window=100, train=TrainSettings(crop=32))
    with pytest.raises(ConfigError, match="window: model 'vnet'"):
        run_task2(config, source=object())  # refused before the source is read


def _network(name: str) -> torch.nn.Module:
    # the network itself, without the side check create_segmentation_model adds: the table
    # is measured against what the network takes
    return NETWORKS.create(name, n_classes=3).eval()


@pytest.mark.parametrize("model", ["manet", "pan", "pspnet", "unet3d", "vnet", "unet-mtneuro",
                                   "unet3d-mtneuro"])
def test_the_table_matches_what_the_network_takes(model):
    """The smallest fitting side runs; the next side that is not a multiple fails."""
    torch.manual_seed(0)
    net = _network(model)
    need = MODEL_INPUT_SIDES[model]
    depth = (8,) if model_dim(model) == "3d" else ()
    fits = max(need.minimum, need.multiple)
    with torch.no_grad():
        assert net(torch.zeros(1, 1, *depth, fits, fits)).shape[-1] == fits
        with pytest.raises(RuntimeError):
            bad = fits + need.multiple // 2
            net(torch.zeros(1, 1, *depth, bad, bad))


@pytest.mark.parametrize(("model", "depth", "expected"),
                         [("unet3d", 12, "a multiple of 8 slices, got 12; use e\\.g\\. 8 or 16"),
                          ("vnet", 4, "a multiple of 8 slices, got 4; use e\\.g\\. 8")])
def test_a_block_depth_a_3d_model_cannot_take_is_refused_when_the_config_is_built(
        model, depth, expected):
    with pytest.raises(ConfigError, match=rf"^depth: model '{model}' takes blocks whose depth "
                                          rf"is {expected}$"):
        task2_config("paper", model=model, depth=depth)
    assert task2_config("paper", model=model, depth=16).depth == 16


def test_block_depth_is_for_3d_models_and_fits_the_test_range():
    assert task2_config("paper", model="highresnet", depth=5).depth == 5  # any depth
    with pytest.raises(ConfigError, match=r"^depth: expected at most 50 slices \(the test z "
                                          r"range \[420, 470\)\), got 56$"):
        task2_config("paper", model="unet3d", depth=56)
    with pytest.raises(ConfigError, match=r"^depth: 2d samples are single slices, got 8"):
        task2_config("paper", model="unet", depth=8)
    with pytest.raises(ConfigError, match=r"^depth: 2d samples .* got 8"):
        task2_config("paper", model="highresnet", dim="2d", depth=8)
    with pytest.raises(ConfigError, match="depth: model 'vnet'"):
        from mtneuro.tasks.segmentation.run import run_task2

        run_task2(Task2Config(model="vnet", depth=12), source=object())  # before any read


@pytest.mark.parametrize("model", ["unet3d", "vnet", "highresnet", "unet3d-mtneuro"])
def test_the_depth_table_matches_what_the_network_takes(model):
    """Depths the table accepts come back whole; the others fail or come back another depth
    (MONAI's U-Net gives a 7-slice block back 8 slices deep)."""
    torch.manual_seed(0)
    net = _network(model)
    need = MODEL_INPUT_DEPTHS[model]
    with torch.no_grad():
        for depth in (1, 4, 5, 7, 8, 12, 16):
            try:
                fits = net(torch.zeros(1, 1, depth, 8, 8)).shape[2] == depth
            except RuntimeError:
                fits = False
            assert fits == need.fits(depth), depth
