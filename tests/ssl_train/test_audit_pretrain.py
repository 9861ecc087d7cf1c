"""Audit: pre-training is a function of its config (seed included), and a resume with
another learning rate or seed is refused naming the field the user changed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from ssl_train_helpers import digits_subset

from mtneuro.errors import ConfigError
from mtneuro.tasks.pretrain.config import make_config
from mtneuro.tasks.pretrain.run import check_resumable, pretrain_encoder

TINY = {"source": "digits", "epochs": 1, "batch_size": 16, "quiet": True, "method": "byol",
        "backbone_params": {"widths": [4, 8]}, "projector_hidden": 16, "projector_out": 8,
        "predictor_hidden": 16}


def test_the_same_seed_gives_the_same_encoder_whatever_the_global_random_state():
    config = make_config("quick", {**TINY, "seed": 5})
    images = digits_subset(32)
    weights = []
    for noise in (1, 2):
        torch.manual_seed(noise)  # a caller drew from the global generator before
        weights.append(pretrain_encoder(config, images).encoder.state_dict())
    for name, value in weights[0].items():
        assert torch.equal(weights[1][name], value), name


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("run") / "pretrain"
    config = make_config("quick", {**TINY, "out_dir": str(out), "lr_rule": "fixed",
                                    "base_lr": 0.03})
    pretrain_encoder(config, digits_subset(32), out_dir=out)
    return config, out


@pytest.mark.parametrize(("change", "message"), [
    ({"base_lr": 0.5}, "base_lr was 0.03, now 0.5"),
    ({"seed": 1}, "seed was 0, now 1"),
])
def test_resume_names_a_changed_learning_rate_or_seed(finished_run, change, message):
    config, out = finished_run
    with pytest.raises(ConfigError) as info:
        check_resumable(dataclasses.replace(config, resume=True, **change))
    assert str(info.value).startswith(f"cannot resume {Path(out) / 'checkpoint.pt'}: {message};")
