"""A resume accepts another spelling of the same run, and two runs of one config write the
same checkpoint (the global Python and NumPy states it stores included)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import asdict

import numpy as np
import pytest
import torch
from ssl_train_helpers import digits_subset

from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.settings import RUN_CONFIG_KEY, resume_problem
from mtneuro.tasks.pretrain.config import PretrainConfig, make_config
from mtneuro.tasks.pretrain.run import pretrain_encoder, run_config, train_settings

TINY = {"source": "digits", "epochs": 1, "batch_size": 16, "quiet": True, "method": "byol",
        "backbone_params": {"widths": [4, 8]}, "projector_hidden": 16, "projector_out": 8,
        "predictor_hidden": 16}


def _problem(stored: PretrainConfig, now: PretrainConfig, stored_images: torch.Tensor | None,
             now_images: torch.Tensor | None) -> str | None:
    # A checkpoint as the trainer writes it (its images' digest included), holding only what
    # the comparison reads; ``now_images`` None: a command's check before it reads data.
    state = {"method_name": stored.method,
             RUN_CONFIG_KEY: dict(run_config(stored, stored_images).values),
             "settings": asdict(train_settings(stored))}
    return resume_problem(state, now.method, train_settings(now), run_config(now, now_images))


PHANTOM = make_config("quick", {"source": "phantom"})
IMAGES = torch.arange(2 * 16, dtype=torch.uint8).reshape(2, 1, 4, 4)
OTHER_IMAGES = IMAGES.flip(0)


@pytest.mark.parametrize(("source", "stored", "now"), [
    ("phantom", {}, {"seed": 0}), ("phantom", {"seed": 0}, {}),  # the default, given or not
    # a cache moved, its root spelt relative, its recorded upstream left out
    ("cache", {"root": "/data/c.zarr", "upstream": "phantom"}, {"root": "moved/c.zarr"}),
])
def test_source_parameters_that_read_the_same_images_resume(source, stored, now):
    before = dataclasses.replace(PHANTOM, source=source, source_params=stored)
    after = dataclasses.replace(PHANTOM, source=source, source_params=now)
    assert _problem(before, after, IMAGES, None) is None  # before the data are read
    assert _problem(before, after, IMAGES, IMAGES.clone()) is None  # the digests agree


def test_source_parameters_that_read_other_images_are_refused_naming_both_values():
    before = dataclasses.replace(PHANTOM, source_params={"seed": 0})
    after = dataclasses.replace(PHANTOM, source_params={"seed": 2})
    assert _problem(before, after, IMAGES, OTHER_IMAGES) == (
        "source_params was {'seed': 0}, now {'seed': 2}")
    # equal parameters and other images: the digest itself is named
    problem = _problem(before, before, IMAGES, OTHER_IMAGES)
    assert problem is not None and problem.startswith("training_images was '2 images, SHA-256 ")


def test_without_a_stored_digest_source_parameters_compare_as_given():
    # a checkpoint written before digests were stored: nothing else can decide
    before = dataclasses.replace(PHANTOM, source_params={})
    after = dataclasses.replace(PHANTOM, source_params={"seed": 0})
    assert _problem(before, after, None, IMAGES) == "source_params was {}, now {'seed': 0}"


def test_two_runs_of_one_config_write_identical_checkpoints(tmp_path):
    config = make_config("quick", {**TINY, "seed": 3})
    images = digits_subset(32)
    digests, states = [], []
    for noise, out in ((1, tmp_path / "a"), (2, tmp_path / "b")):
        random.seed(noise)  # a caller drew from the global generators before
        np.random.seed(noise)
        pretrain_encoder(config, images, out_dir=out)
        digests.append(hashlib.sha256((out / "checkpoint.pt").read_bytes()).hexdigest())
        states.append(load_checkpoint(out / "checkpoint.pt")["rng"])
    assert states[0]["python"] == states[1]["python"]
    assert states[0]["numpy"]["keys"].equal(states[1]["numpy"]["keys"])
    assert digests[0] == digests[1]
