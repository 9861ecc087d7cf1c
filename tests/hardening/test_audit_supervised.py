"""Audit: the task-1 classifier's training is seeded, stops on NaN and keeps its best epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import TrainingError
from mtneuro.tasks.supervised import SupervisedSettings, train_classifier

N = 8


class TinyEncoder(nn.Module):
    """Flatten + linear; records the first pixel of every training batch it sees."""

    out_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(16, 3)
        self.seen: list[list[float]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append((x[:, 0, 0, 0] * 255).round().tolist())
        return self.linear(x.flatten(1))


def data(nan: bool = False) -> tuple[torch.Tensor, np.ndarray]:
    # Sample i has pixel value i (uint8): a batch names the samples in it.
    images = torch.arange(N, dtype=torch.uint8).view(N, 1, 1, 1).expand(N, 1, 4, 4).clone()
    if nan:
        return images.float().div(255).fill_(float("nan")), np.arange(N) % 2
    return images, np.arange(N) % 2


def settings(**changes) -> SupervisedSettings:
    base = {"epochs": 3, "batch_size": 4, "lr": 0.1, "schedule": "constant", "augment": False,
            "normalise": False, "recalibrate_bn": False, "channels_last": False,
            "retain_cpu_memory": False}
    return SupervisedSettings(**{**base, **changes})


def encoder() -> TinyEncoder:
    torch.manual_seed(11)
    return TinyEncoder()


# Two identical validation images labelled 0 and 1: every epoch scores exactly 0.5.
TIED_VAL = (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), np.array([0, 1]))


def test_the_same_seed_gives_the_same_model_whatever_the_global_random_state():
    models = []
    for noise in (1, 2):
        enc = encoder()
        torch.manual_seed(100 + noise)  # a caller drew from the global generator meanwhile
        models.append(train_classifier(enc, 2, data(), TIED_VAL, settings(), seed=4)[0])
    for name, value in models[0].state_dict().items():
        assert torch.equal(models[1].state_dict()[name], value), name


def test_the_seed_sets_the_batch_order():
    orders = []
    for seed in (0, 1):
        enc = encoder()
        train_classifier(enc, 2, data(), TIED_VAL, settings(epochs=1), seed=seed)
        # one pass over every sample
        assert sorted(s for batch in enc.seen for s in batch) == list(range(N))
        orders.append(enc.seen)
    assert orders[0] != orders[1]


def test_a_nan_loss_stops_training():
    with pytest.raises(TrainingError, match=r"supervised training diverged \(loss nan\); "
                                            r"lower lr \(0.1\)"):
        train_classifier(encoder(), 2, data(nan=True), TIED_VAL, settings(), seed=0)


def test_ties_keep_the_first_best_epoch_and_its_weights():
    model, history = train_classifier(encoder(), 2, data(), TIED_VAL, settings(), seed=0)
    assert history["val_accuracy"] == [0.5, 0.5, 0.5] and history["best_epoch"] == 1
    # With a constant rate, epoch 1 of three equals a one-epoch run.
    one, _ = train_classifier(encoder(), 2, data(), TIED_VAL, settings(epochs=1), seed=0)
    for name, value in one.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name


def test_a_last_batch_of_one_tile_is_trained_on_as_the_reference_keeps_it():
    # 9 tiles in batches of 4: 4, 4 and 1 per epoch; the reference's DataLoader keeps the 1
    images = torch.arange(9, dtype=torch.uint8).view(9, 1, 1, 1).expand(9, 1, 4, 4).clone()
    enc = encoder()
    train_classifier(enc, 2, (images, np.arange(9) % 2), TIED_VAL, settings(epochs=1), seed=0)
    assert [len(batch) for batch in enc.seen] == [4, 4, 1]
    assert sorted(v for batch in enc.seen for v in batch) == list(range(9))
