"""Training checkpoints: atomic writes and RNG-state round trips."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from mtneuro.errors import TrainingError
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
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_rng_states_round_trip():
    generator = torch.Generator().manual_seed(5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = capture_rng_state({"views": generator})

    def draw():
        return (random.random(), float(np.random.rand()), float(torch.rand(1)),
                float(torch.rand(1, generator=generator)))

    first = draw()
    draw()
    restore_rng_state(state, {"views": generator})
    assert draw() == first


def test_unreadable_or_foreign_checkpoint_is_a_training_error(tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint to resume from"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "encoder.pt")
    with pytest.raises(TrainingError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "encoder.pt")
