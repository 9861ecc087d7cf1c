"""Encoder files of other kinds are named for what they are, with the way to use them: a
TorchScript archive, a training loop's ``{"model": state_dict, ...}``; and a one-channel
encoder keeping ImageNet's three-value mean is told that, not to pre-train on one channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mtneuro.errors import CheckpointError, ConfigError, DataError
from mtneuro.models import resolve_encoder
from mtneuro.models.checkpoint import input_normalisation, read_state_dict

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _small() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_a_three_value_mean_of_a_one_channel_encoder_is_named_as_such() -> None:
    # it said "takes images of 1 channel(s) ... pre-train on a one-channel source"
    with pytest.raises(ConfigError) as info:
        input_normalisation({"in_channels": 1, **IMAGENET}, "encoder 'mine'")
    assert str(info.value) == (
        "encoder 'mine': input mean [0.485, 0.456, 0.406] has 3 values (one per channel), but "
        "the encoder takes 1 channel, as MTNeuro's X-ray images have; give one mean in its "
        "input_spec (e.g. 0.449, their mean), or none (mean 0)")
    with pytest.raises(ConfigError, match=r"input std \[0\.2, 0\.3\] has 2 values .* give one "
                                          r"std in its input_spec \(e\.g\. 0\.25, their mean\), "
                                          r"or none \(std 1\)$"):
        input_normalisation({"in_channels": 1, "mean": 0.5, "std": [0.2, 0.3]})


def test_a_three_channel_encoder_keeps_the_several_channels_message() -> None:
    with pytest.raises(ConfigError, match=r"takes images of 3 channel\(s\).*have 1 channel"):
        input_normalisation({"in_channels": 3, **IMAGENET})


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")
def test_a_torchscript_archive_is_named_with_the_module_callable_alternative(
        tmp_path: Path) -> None:
    # it was called damaged, "or not written by this version of mtneuro"
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(_small()), str(path))
    with pytest.raises(CheckpointError) as info:
        resolve_encoder(str(path))
    message = str(info.value)
    assert message.startswith(f"encoder checkpoint {path} is a TorchScript archive "
                              "(torch.jit.save), which mtneuro does not load")
    assert "returns torch.jit.load(path)" in message and "damaged" not in message
    with pytest.raises(CheckpointError, match=r"is a TorchScript archive .*torch\.save\(torch"
                                              r"\.jit\.load\(path\)\.state_dict\(\), new_path\)$"):
        read_state_dict(path)


def test_a_training_loops_checkpoint_names_the_key_holding_the_weights(tmp_path: Path) -> None:
    # it said only "is not an mtneuro encoder checkpoint"
    path = tmp_path / "loop.pt"
    torch.save({"model": _small().state_dict(), "epoch": 3}, path)
    with pytest.raises(DataError) as info:
        resolve_encoder(str(path))
    assert str(info.value) == (
        f"{str(path)!r} is not an mtneuro encoder checkpoint (expected a dict with format "
        "'mtneuro-encoder/1'); its key 'model' holds a state_dict, which names no "
        "architecture: load it inside a module:callable that builds the model and returns it "
        "(--encoder mypkg.encoders:build; docs/bring_your_own_encoder.md), with "
        "model.load_state_dict(torch.load(path, weights_only=True)['model'])")
