"""Audit: task-2 training resumes with its divergence level and names what it keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.checkpoint_io import last_position, save_state
from mtneuro.errors import CheckpointError, TrainingError
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation


def batches(interrupt_at: int | None = None) -> CropBatches:
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(4, 16, 16))
    crops = CropBatches((masks * 50).astype(np.uint8)[:, None], masks, batch_size=2, crop=8,
                        seed=0, steps_per_epoch=2)
    if interrupt_at is not None:
        real = crops.epoch

        def epoch(e: int):
            if e == interrupt_at:
                raise KeyboardInterrupt
            return real(e)

        crops.epoch = epoch
    return crops


def train(path: Path, crops: CropBatches, model: nn.Module | None = None, resume: bool = False):
    torch.manual_seed(0)
    model = model or nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))
    return train_segmentation(model, crops, TrainSettings(epochs=3, optimizer="sgd", lr=0.01),
                              n_classes=3, checkpoint=path, resume=resume, quiet=True)


def test_a_resumed_run_judges_loss_jumps_against_the_epochs_before_it(tmp_path: Path):
    path = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(path, batches(interrupt_at=1))
    # Epoch 1's loss (~1.1, cross-entropy over 3 classes) stored as a level of 1e-6: the
    # next epoch's ~1 is a jump of ~1e6 over it, which the guard must refuse to keep.
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 1 and 0.5 < state["history"][0] < 2.0
    assert last_position() == "epoch 1/3"  # what Ctrl-C's message names (no seed given)
    state["history"] = [1e-6]
    save_state(path, state)
    with pytest.raises(TrainingError, match=r"diverged at epoch 2: loss .* is over 100 times "
                                            r"its running level 1e-06"):
        train(path, batches(), resume=True)
    assert torch.load(path, weights_only=True)["epoch"] == 1  # the bad epoch was not saved


def test_a_nan_in_the_first_epoch_says_no_checkpoint_was_written(tmp_path: Path):
    class NaNNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, x, x], dim=1) * self.w * float("nan")

    path = tmp_path / "ck.pt"
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1; training stopped, "
                                            r"no checkpoint had been written;"):
        train(path, batches(), model=NaNNet())
    assert not path.exists()


def test_without_resume_an_existing_checkpoint_is_trained_over_from_epoch_0(tmp_path: Path):
    path = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(path, batches(interrupt_at=2))
    history = train(path, batches())  # resume not asked: a new run
    assert history["resumed_from_epoch"] == 0 and len(history["loss_per_epoch"]) == 3


def test_weights_of_another_network_are_refused_in_one_line(tmp_path: Path):
    path = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(path, batches(interrupt_at=1))
    wider = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 3, 1))
    with pytest.raises(CheckpointError, match=rf"task 2 checkpoint {path}: 'model' does not fit "
                                             r"this run \(RuntimeError: ") as err:
        train(path, batches(), model=wider, resume=True)
    assert "\n" not in str(err.value)


def test_a_task2_checkpoint_position_names_the_seed_of_its_run(tmp_path: Path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))
    with pytest.raises(KeyboardInterrupt):
        train_segmentation(model, batches(interrupt_at=2), TrainSettings(epochs=3, lr=0.01),
                           n_classes=3, checkpoint=tmp_path / "ck.pt", quiet=True,
                           fingerprint={"seed": 7})
    assert last_position() == "epoch 2/3 of seed 7"
