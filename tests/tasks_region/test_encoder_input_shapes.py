"""The input shapes tasks 1 and 3 feed a frozen encoder, tried on zeros before any work: an
encoder whose feature size follows its input size (no global pooling) failed only when task 1
reached its test crops, after the head had trained, and ``bench --dry-run`` passed it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.encoder_inputs import check_input_shapes
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_inputs import RegionInputs, task1_input_shapes
from mtneuro.tasks.region_protocol import resolve_recipe
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.semantic_probe import task3_input_shapes
from mtneuro.tasks.semantic_task import TASK3
from mtneuro.tasks.volume import SplitData


class Pooled(nn.Module):
    """Global pooling: any input size gives 4 features."""

    def __init__(self, kernel: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))


class Flat(nn.Module):
    """No pooling: 2 x (side / 8)^2 features, so the feature size follows the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, 8).repeat(1, 2, 1, 1).flatten(1)


def _task1(preset: str, **values) -> object:
    return TASK1.make_config(preset, {"method": "encoder", "encoder": "resnet-tiny", **values})


@pytest.mark.parametrize(("preset", "values", "shapes"), [
    ("paper", {}, ((1, 256, 256), (1, 128, 128))),  # head on whole tiles, corners tested
    ("paper", {"probe_inputs": "random-crops"}, ((1, 128, 128),)),
    ("paper", {"probe_inputs": "random-crops", "crop": 96}, ((1, 96, 96),)),
    ("quick", {}, ((1, 64, 64), (1, 32, 32))),  # resized tiles, quadrants tested
    ("quick", {"test_crops": "none"}, ((1, 64, 64),)),
    ("quick", {"dim": "3d"}, ((1, 8, 64, 64), (1, 8, 32, 32))),
    ("quick", {"input_size": 48}, ((1, 48, 48), (1, 24, 24))),
    ("quick", {"method": "myow", "encoder": None}, ((1, 64, 64), (1, 32, 32))),
    ("quick", {"method": "pca", "encoder": None}, ()),  # reads no encoder
    ("paper", {"method": "supervised", "encoder": None}, ()),
])
def test_task1_shapes_follow_its_recipe(preset, values, shapes):
    assert task1_input_shapes(_task1(preset, **values)) == shapes


@pytest.mark.parametrize(("values", "train_crop"), [
    ({"protocol": "resized", "input_size": 16}, None),
    ({"protocol": "resized", "input_size": 16, "test_crops": "none"}, None),
    ({"protocol": "paper", "crop": 8}, None),  # as released: whole tiles, corner crops
    ({"protocol": "paper", "crop": 8, "probe_inputs": "random-crops"}, 8),
])
def test_task1_shapes_are_those_region_inputs_cuts(values, train_crop):
    """Against the arrays the run scores, not the recipe's words: 32-px tiles."""
    config = _task1("quick", **values)
    data = {split: SplitData(np.zeros((4, 1, 32, 32), np.uint8), np.arange(4), np.arange(4))
            for split in ("train", "val", "test")}
    inputs = RegionInputs(data, resolve_recipe(config))
    train = (1, train_crop, train_crop) if train_crop else tuple(inputs.train_x.shape[1:])
    fed = dict.fromkeys([train, tuple(inputs.val_x.shape[1:]), tuple(inputs.test_x.shape[1:])])
    assert task1_input_shapes(config, tile=32) == tuple(fed)


def test_task3_feeds_quadrants_of_tiles_resized_to_its_input_size():
    config = TASK3.make_config("quick", {"method": "encoder", "encoder": "resnet-tiny",
                                         "input_size": 48})
    assert task3_input_shapes(config) == ((1, 24, 24),)
    assert task3_input_shapes(TASK3.make_config("quick", {"method": "pca"})) == ()


def test_a_pooled_encoder_passes_and_keeps_its_training_flag():
    encoder = Pooled().train()
    check_input_shapes(encoder, {"in_channels": 1}, ((1, 64, 64), (1, 32, 32)), "encoder x")
    assert encoder.training


def test_a_feature_size_that_follows_the_input_size_is_refused():
    with pytest.raises(ConfigError, match=r"^encoder x: its feature size depends on its input "
                       r"size \(128 for 64 x 64, 32 for 32 x 32\).*global pooling"):
        check_input_shapes(Flat(), {"in_channels": 1}, ((1, 64, 64), (1, 32, 32)), "encoder x")


def test_a_forward_that_fails_at_a_fed_size_names_that_size():
    with pytest.raises(ConfigError, match=r"^encoder x: forward on a probe batch of random pixels "
                       r"\(2, 1, 32, 32\), an input size this task feeds, raised RuntimeError: "
                       r".*Kernel size.*; it takes 64 x 64 inputs \(the size its out_dim was "
                       r"found at: its input_spec size, 64 where it declares none\) but this task "
                       r"feeds 32 x 32 inputs; it must take every input size the task feeds: end "
                       r"its forward with global pooling .*, or resize its input inside forward"):
        check_input_shapes(Pooled(kernel=40), {"in_channels": 1, "size": 64},
                           ((1, 64, 64), (1, 32, 32)), "encoder x")


def test_a_size_the_module_declares_is_named_as_declared_and_a_half_model_gets_its_dtype():
    declaring = Pooled(kernel=40)
    declaring.input_spec = {"size": 64}
    with pytest.raises(ConfigError, match=r"; it declares input size 64 but this task feeds 32 x "
                       r"32 inputs; it must take every input size"):
        check_input_shapes(declaring, {"in_channels": 1, "size": 64}, ((1, 32, 32),), "encoder x")
    with pytest.raises(ConfigError, match=r"raised RuntimeError: .*; its weights are float16, but "
                       r"the tasks feed float32 inputs: return the module in float32"):
        check_input_shapes(Pooled().half(), {"in_channels": 1}, ((1, 32, 32),), "encoder x")


def test_task1_refuses_such_an_encoder_before_its_head_trains(monkeypatch):
    """Paper protocol, as released: the head trains on whole tiles, then the corners are
    tested; the encoder is refused before the head trains."""
    def no_training(*args, **kwargs):
        raise AssertionError("the head trained before the encoder was checked")

    monkeypatch.setattr("mtneuro.tasks.region.train_linear_head", no_training)
    rng = np.random.default_rng(0)
    data = {split: SplitData(rng.integers(0, 255, (8, 1, 32, 32), dtype=np.uint8),
                             np.arange(8) % 4, np.arange(8)) for split in ("train", "val", "test")}
    config = TASK1.make_config("paper", {"method": "encoder", "crop": 16, "head_epochs": 1})
    with pytest.raises(ConfigError, match=r"\(2, 1, (32, 32|16, 16)\), an input size this "
                                          r"task feeds"):
        run_task1(config, data, encoder=Flat())


def test_a_forward_that_fails_at_its_own_size_too_gets_no_size_hint():
    """The size hint blamed the task's 32-px inputs for an encoder that fails on bright pixels
    at any size; trying its own size tells the two apart."""

    class RefusesBright(Pooled):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.max() > 0.9:
                raise ValueError("expects inputs below 0.9")
            return super().forward(x)

    with pytest.raises(ConfigError, match=r"raised ValueError: expects inputs below 0.9 .*; the "
                       r"tasks feed one-channel float tiles") as refused:
        check_input_shapes(RefusesBright(), {"in_channels": 1, "size": 64}, ((1, 32, 32),),
                           "encoder x")
    assert "input size 64" not in str(refused.value) and "64 x 64" not in str(refused.value)


def test_an_encoder_that_standardises_each_image_passes_the_probe():
    """Zeros gave (x - mean) / std = 0 / 0 = NaN, refusing an encoder that scores well on
    every real tile; the probe batch is random pixels."""

    class Standardising(Pooled):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            flat = x.flatten(1)
            x = (x - flat.mean(1).view(-1, 1, 1, 1)) / flat.std(1).view(-1, 1, 1, 1)
            return super().forward(x)

    check_input_shapes(Standardising(), {"in_channels": 1}, ((1, 64, 64), (1, 32, 32)), "enc")
