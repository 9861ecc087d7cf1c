"""Training checkpoints: atomic writes, RNG-state round trips, safe loading, one-line errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from mtneuro.errors import CheckpointError, MtneuroError
from mtneuro.ssl import checkpoint
from mtneuro.ssl.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1, "weights": torch.ones(3)})

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2, "weights": torch.zeros(3)})
    monkeypatch.undo()
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_rng_states_round_trip():
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = capture_rng_state()

    def draw():
        return (random.random(), float(np.random.rand()), float(torch.rand(1)))

    first = draw()
    draw()
    restore_rng_state(state)
    assert draw() == first


def test_unreadable_or_foreign_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a torch checkpoint that loads safely"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "encoder.pt")
    with pytest.raises(CheckpointError, match="not a training checkpoint of version 2"):
        load_checkpoint(tmp_path / "encoder.pt")


def test_rng_states_survive_a_weights_only_file(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.standard_normal()  # leaves a cached Gaussian in NumPy's state
    save_checkpoint(tmp_path / "rng.pt", {"rng": capture_rng_state()})
    expected = (random.random(), np.random.standard_normal(), float(torch.rand(1)))
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    assert (random.random(), np.random.standard_normal(), float(torch.rand(1))) == expected


def test_save_refuses_values_that_would_not_load_safely(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['rng'\]\['numpy'\]: a ndarray"):
        save_checkpoint(tmp_path / "c.pt", {"rng": {"numpy": np.zeros(3)}})
    with pytest.raises(TypeError, match="float64"):
        save_checkpoint(tmp_path / "c.pt", {"lr": np.float64(0.1)})
    assert not list(tmp_path.iterdir())


def _tiny_trainer(images, out_dir):
    from ssl_train_helpers import flip_noise_view, tiny_myow

    from mtneuro.ssl.trainer import Trainer, TrainSettings

    settings = TrainSettings(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0, seed=3,
                             mined_weight=0.5, pool_size=16, quiet=True)
    method = tiny_myow(seed=3, layout="merged", k=2)
    optimizer = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    return Trainer(method, optimizer, images[:32], flip_noise_view, settings, out_dir)


def test_trainer_checkpoint_loads_with_weights_only(digits_images, tmp_path):
    np.random.seed(4)  # a NumPy state with a cached Gaussian must survive too
    np.random.standard_normal()
    _tiny_trainer(digits_images, tmp_path).fit()
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert payload["epoch"] == 1 and payload["step"] == 2


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda s: s.pop("optimizer"), "optimizer"),
        (lambda s: s.update(step="two"), "step"),
        (lambda s: s["method"].pop(next(iter(s["method"]))), "method"),
        (lambda s: s["rng"].pop("numpy"), "rng"),
        (lambda s: s["rng"]["numpy"].update(keys=s["rng"]["numpy"]["keys"][:3]), "rng"),
    ],
    ids=["missing-key", "wrong-type", "missing-weight", "missing-rng", "short-rng-keys"],
)
def test_damaged_checkpoint_fails_resume_in_one_line(digits_images, tmp_path, damage, named):
    _tiny_trainer(digits_images, tmp_path).fit()
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    damage(state)
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(MtneuroError) as err:
        _tiny_trainer(digits_images, tmp_path).fit(resume=True)
    message = str(err.value)
    assert "\n" not in message and "checkpoint.pt" in message and named in message
