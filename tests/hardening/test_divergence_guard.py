"""Issue 17, defect 3: a diverged model is never kept as the "last good" checkpoint."""

from __future__ import annotations

import pytest
import torch

from mtneuro.data.vision import load_vision
from mtneuro.errors import TrainingError
from mtneuro.models.registry import create_encoder
from mtneuro.ssl.byol import BYOL
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.divergence import DivergenceGuard, first_unusable
from mtneuro.ssl.trainer import Trainer, TrainSettings


def flip_view(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(batch.shape, generator=generator, device=batch.device)
    return batch + 0.1 * noise


def tiny_trainer(out_dir, lr: float, epochs: int = 2) -> Trainer:
    """BYOL on a 2-stage ResNet over 48 real 8x8 digits, one 48-sample step per epoch."""
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=(4, 8))
    method = BYOL(encoder, projector_hidden=16, projector_out=8, predictor_hidden=16)
    optimizer = torch.optim.SGD(method.parameters(), lr=lr, momentum=0.9)
    settings = TrainSettings(epochs=epochs, batch_size=48, lr=lr, warmup_epochs=0,
                             base_momentum=0.9, seed=0, log_every=1, checkpoint_every=1,
                             quiet=True)
    images = load_vision("digits", "train").images[:48]
    return Trainer(method, optimizer, images, flip_view, settings, out_dir)


def test_absurd_learning_rate_never_leaves_a_diverged_last_good_checkpoint(tmp_path):
    # The case (base_lr 1e30, one big batch): the first step's loss is still
    # finite, the weights after it are ~1e28; the second step's loss is NaN.
    trainer = tiny_trainer(tmp_path, lr=1e30)
    with pytest.raises(TrainingError) as err:
        trainer.fit()
    assert "\n" not in str(err.value)
    checkpoint = tmp_path / "checkpoint.pt"
    if checkpoint.exists():  # whatever is kept must be usable
        state = load_checkpoint(checkpoint)
        for name, value in state["method"].items():
            if value.is_floating_point():
                assert torch.isfinite(value.float().square().sum()), name
    assert "diverged at step 1 (epoch 1 as the progress line counts" in str(err.value)
    assert "no checkpoint had been written" in str(err.value)
    assert not checkpoint.exists()


def test_sane_learning_rate_passes_the_guard(tmp_path):
    trainer = tiny_trainer(tmp_path, lr=0.05)
    result = trainer.fit()
    assert result["epochs"] == 2 and (tmp_path / "checkpoint.pt").is_file()
    assert len(trainer.guard.losses) == 2


def test_guard_names_non_finite_state_and_loss_jumps():
    model = torch.nn.Linear(3, 2)
    assert first_unusable(model) is None
    with torch.no_grad():
        model.bias[0] = float("nan")
    assert first_unusable(model) == "bias holds non-finite values"
    with torch.no_grad():
        model.bias[0] = 1e25
    assert "bias has magnitude 1e+25" in first_unusable(model)

    optimizer = torch.optim.SGD(torch.nn.Linear(3, 2).parameters(), lr=0.1, momentum=0.9)
    sane = torch.nn.Linear(3, 2)
    next(iter(optimizer.param_groups[0]["params"])).grad = torch.full((2, 3), float("inf"))
    optimizer.step()  # momentum buffer now inf
    assert "optimizer state" in first_unusable(sane, optimizer)

    guard = DivergenceGuard(loss_jump=100)
    for loss in (2.0, 1.0, 0.5):
        guard.check(sane, None, loss, "step", lambda: "kept")
    with pytest.raises(TrainingError, match=r"loss 200 is over 100 times its running level 1"):
        guard.check(sane, None, 200.0, "epoch 4", lambda: "kept")


def test_task2_training_keeps_no_diverged_checkpoint(tmp_path):
    import numpy as np
    from torch import nn

    from mtneuro.tasks.segmentation.batches import CropBatches
    from mtneuro.tasks.segmentation.config import TrainSettings as SegSettings
    from mtneuro.tasks.segmentation.train import train_segmentation

    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(4, 16, 16))
    images = (masks * 50).astype(np.uint8)[:, None]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 3, 1))
    batches = CropBatches(images, masks, batch_size=4, crop=16, seed=0, steps_per_epoch=1)
    checkpoint = tmp_path / "seed0.pt"
    with pytest.raises(TrainingError):
        train_segmentation(model, batches, SegSettings(epochs=3, optimizer="sgd", lr=1e30),
                           n_classes=3, checkpoint=checkpoint, quiet=True)
    if checkpoint.exists():
        state = load_checkpoint_plain(checkpoint)
        for name, value in state["model"].items():
            if value.is_floating_point():
                assert torch.isfinite(value.float().square().sum()), name


def load_checkpoint_plain(path):
    from mtneuro.checkpoint_io import load_state

    return load_state(path, what="task 2 checkpoint")
