"""A resume accepts another spelling of the same run, and two runs of one config write the
same checkpoint (the global Python and NumPy states it stores included)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import asdict

import numpy as np
import pytest
from ssl_train_helpers import digits_subset

from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.settings import RUN_CONFIG_KEY, resume_problem
from mtneuro.tasks.pretrain.config import PretrainConfig, make_config
from mtneuro.tasks.pretrain.run import pretrain_encoder, run_config, train_settings

TINY = {"source": "digits", "epochs": 1, "batch_size": 16, "quiet": True, "method": "byol",
        "backbone_params": {"widths": [4, 8]}, "projector_hidden": 16, "projector_out": 8,
        "predictor_hidden": 16}


def _problem(stored: PretrainConfig, now: PretrainConfig) -> str | None:
    # A checkpoint as the trainer writes it, holding only what the comparison reads.
    state = {"method_name": stored.method, RUN_CONFIG_KEY: dict(run_config(stored).values),
             "settings": asdict(train_settings(stored))}
    return resume_problem(state, now.method, train_settings(now), run_config(now))


@pytest.mark.parametrize(("stored", "now"), [({}, {"seed": 0}), ({"seed": 0}, {})])
def test_a_source_parameter_given_as_its_default_resumes(stored, now):
    base = make_config("quick", {"source": "phantom"})
    assert _problem(dataclasses.replace(base, source_params=stored),
                    dataclasses.replace(base, source_params=now)) is None


def test_another_phantom_seed_is_still_refused_naming_both_values():
    base = make_config("quick", {"source": "phantom"})
    problem = _problem(base, dataclasses.replace(base, source_params={"seed": 1}))
    assert problem == "source_params was {}, now {'seed': 1}"
    problem = _problem(dataclasses.replace(base, source_params={"seed": 0}),
                       dataclasses.replace(base, source_params={"seed": 2}))
    assert problem == "source_params was {'seed': 0}, now {'seed': 2}"


def test_image_sets_compare_their_parameters_as_given():
    base = make_config("quick", TINY)  # digits: no volume source, no defaults to fill in
    problem = _problem(base, dataclasses.replace(base, source_params={"root": "elsewhere"}))
    assert problem == "source_params was {}, now {'root': 'elsewhere'}"


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
