"""A crop larger than the images is refused from Python as from the CLI (one line, same
message), never clamped silently to a smaller crop than the one asked for."""

from __future__ import annotations

import pytest
import torch

from mtneuro.data.spec import check_crop
from mtneuro.errors import ConfigError
from mtneuro.tasks.pretrain import run as pretrain_run
from mtneuro.tasks.pretrain.config import make_config


def _cli_message(crop: int) -> str:
    with pytest.raises(ConfigError) as info:
        check_crop(crop, "crop")
    return str(info.value)


def test_pretrain_encoder_refuses_a_crop_beyond_the_tile_with_the_cli_message():
    config = make_config("quick", {"crop": 300, "epochs": 1, "batch_size": 2})
    tiles = torch.zeros(2, 1, 256, 256, dtype=torch.uint8)
    with pytest.raises(ConfigError) as info:
        pretrain_run.pretrain_encoder(config, tiles)
    assert str(info.value) == _cli_message(300)


def test_pretrain_encoder_refuses_a_crop_beyond_smaller_images():
    config = make_config("quick", {"crop": 48, "epochs": 1, "batch_size": 2})
    images = torch.zeros(2, 1, 40, 40, dtype=torch.uint8)
    with pytest.raises(ConfigError, match=r"^crop: expected at most 40 \(the side of the "
                                          r"training images\), got 48$"):
        pretrain_run.pretrain_encoder(config, images)


def test_run_pretrain_refuses_the_crop_before_reading_data(monkeypatch, tmp_path):
    def no_reading(config):
        raise AssertionError("data read before the crop was checked")

    monkeypatch.setattr(pretrain_run, "load_training_images", no_reading)
    config = make_config("quick", {"crop": 1000, "out_dir": tmp_path})
    with pytest.raises(ConfigError) as info:
        pretrain_run.run_pretrain(config)
    assert str(info.value) == _cli_message(1000)
