"""Baselines on the same splits: raw rates, PCA, and a supervised MLP trained end-to-end.

All three produce per-bin features that go through the same linear readout as the
self-supervised representations (:mod:`mtneuro.tasks.neural.readouts`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mtneuro.ssl.optim import build_optimizer
from mtneuro.ssl.step import backward_step, set_learning_rate
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.neural.train import TrainResult, ViewSampler, drive, make_encoder, total_steps


def pca_features(z: np.ndarray, train: np.ndarray, dim: int) -> np.ndarray:
    """Project z-scored rates (bins, neurons) on the first ``dim`` principal axes of the
    training bins.

    An exact SVD: with a few hundred neurons it costs milliseconds, and sklearn's default
    ("auto") picks its randomized solver here, whose 64-axis subspace moved with the seed
    (largest principal angle between two seeds': 85-89 degrees on the reach recordings), so
    PCA rows had a seed std that was solver error.
    """
    from sklearn.decomposition import PCA  # here: reach runs of other methods need no sklearn

    dim = min(dim, z.shape[1], len(train))
    model = PCA(n_components=dim, svd_solver="full").fit(z[train])
    return model.transform(z).astype(np.float32)


class _Supervised(nn.Module):
    """Encoder + linear head; the head regresses (cos, sin) or gives class logits."""

    def __init__(self, encoder: nn.Module, out: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def train_supervised(
    sampler: ViewSampler,
    label: torch.Tensor,
    kind: str,
    config: NeuralConfig,
    *,
    seed: int,
    n_classes: int,
    every: int = 0,
    on_checkpoint: Callable[[int, nn.Module], None] | None = None,
    stop_after: int | None = None,
) -> TrainResult:
    """Train the MLP encoder end-to-end on the labels of the training bins.

    Same encoder, augmentations (view ``a`` of the sampler), optimiser and schedule
    as the self-supervised runs. Reach: MSE on (cos, sin) of the reach angle; sleep and
    classes: class-balanced cross-entropy.

    Args:
        label: (n,) int64 labels of the sampler's training bins.
        every, on_checkpoint, stop_after: as in :func:`~mtneuro.tasks.neural.train.train_ssl`.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n = sampler.rates.shape[0]
    encoder, enc_kwargs = make_encoder(config, sampler.rates.shape[1])
    model = _Supervised(encoder, 2 if kind == "reach" else n_classes)
    optimizer = build_optimizer("adamw", model, lr=config.lr, weight_decay=config.weight_decay)
    steps, batch = total_steps(config, n), min(config.batch_size, n)
    angle = label.to(torch.float32) * (2 * math.pi / 8)
    target_cs = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    counts = torch.bincount(label, minlength=n_classes).clamp(min=1).to(torch.float32)
    class_weight = counts.sum() / (n_classes * counts)

    def step_fn(values: dict[str, float]) -> dict[str, torch.Tensor]:
        set_learning_rate(optimizer, values["lr"])
        index = torch.randperm(n, generator=generator)[:batch]
        out = model(sampler.augment(sampler.rates[index], generator))
        if kind == "reach":
            loss = F.mse_loss(out, target_cs[index])
        else:
            loss = F.cross_entropy(out, label[index], weight=class_weight)
        backward_step(optimizer, loss)
        return {"loss": loss.detach()}

    model.train()
    curve, wall = drive("supervised", step_fn, steps, config, model.encoder, every=every,
                        on_checkpoint=on_checkpoint, stop_after=stop_after)
    return TrainResult(model.encoder.eval(), enc_kwargs, curve, wall, stop_after or steps)
