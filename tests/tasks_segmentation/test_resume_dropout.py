"""Resume of a model with dropout ends with the weights of an uninterrupted run (the dropout
masks after resuming come from the generator state the checkpoint saved)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation


def _dropout_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.5),
                         nn.Conv2d(8, 3, 1))


def _run(path, interrupt_at=None, resume=False):
    torch.manual_seed(0)  # as run_task2: seed, then build the model, then train
    model = _dropout_net()
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(4, 16, 16))
    images = (masks * 60 + rng.integers(0, 40, size=masks.shape)).astype(np.uint8)[:, None]
    batches = CropBatches(images, masks, batch_size=2, crop=16, seed=0, augment=False)
    if interrupt_at is not None:
        real = batches.epoch

        def epoch(e):
            if e == interrupt_at:
                raise KeyboardInterrupt
            return real(e)

        batches.epoch = epoch
    settings = TrainSettings(epochs=3, batch_size=2, crop=16, optimizer="sgd", lr=0.1,
                             augment=False)
    history = train_segmentation(model, batches, settings, n_classes=3, checkpoint=path,
                                 resume=resume, quiet=True, fingerprint={"seed": 0})
    return model, history


def test_resume_with_dropout_matches_uninterrupted_run(tmp_path):
    straight, history = _run(tmp_path / "a.pt")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b.pt", interrupt_at=2)
    resumed, history_b = _run(tmp_path / "b.pt", resume=True)
    assert history_b["resumed_from_epoch"] == 2
    assert history_b["loss_per_epoch"] == history["loss_per_epoch"]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_checkpoint_without_rng_state_resumes_with_a_warning(tmp_path):
    path = tmp_path / "b.pt"
    with pytest.raises(KeyboardInterrupt):
        _run(path, interrupt_at=1)
    state = torch.load(path, weights_only=True)
    assert set(state["rng"]) == {"cpu"} and state["rng"]["cpu"].dtype == torch.uint8
    del state["rng"]  # as written before the generator state was saved
    torch.save(state, path)
    with pytest.warns(UserWarning, match=f"checkpoint {path} holds no random-number state"):
        _run(path, resume=True)
