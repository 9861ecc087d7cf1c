"""Task 1, paper protocol: a linear head on a frozen encoder, trained as ``task1_ssl.py`` does.

The reference puts ``nn.Linear(512, 4)`` on the frozen encoder and trains only the
head with its network config's optimiser (SGD or Adam, lr 0.01, no scheduler) for
``epochs`` passes over the training tiles in shuffled batches of 8 (the last partial
batch dropped). Every batch is cut to one random ``crop`` x ``crop`` window (one
offset per batch, as torchvision's ``RandomCrop`` applied to a batch tensor) and
normalised with the encoder's mean and std. Test tiles are scored on their four
corner crops (:func:`mtneuro.tasks.tile_inputs.corner_crops`), the model after the
last epoch.

``head_inputs="as-released"`` reproduces what the released evaluation trainer
executes instead (``MTNeuro/ssl_eval_trainer.py:72-82``): it computes the cropped,
normalised batch but feeds the untransformed one, with the whole model in training
mode, so the head sees whole un-normalised tiles while the encoder's BatchNorm
layers use batch statistics and update their running averages; test crops are not
normalised either (``scripts/task1_ssl.py:272-293``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mtneuro.errors import TrainingError
from mtneuro.progress import LoopProgress
from mtneuro.tasks.features import checked_forward
from mtneuro.tasks.tile_inputs import as_unit_float


@dataclass(frozen=True)
class HeadSettings:
    """How the head is trained (values of a :class:`~mtneuro.tasks.region_protocol.RegionRecipe`).

    Attributes:
        optimizer: ``sgd`` (no momentum) or ``adam`` (betas 0.9, 0.999).
        lr, epochs, batch_size: as the reference's network config.
        crop: side of the random training crops; ``None`` trains on whole tiles.
        normalise: subtract ``mean`` and divide by ``std`` before the encoder.
        encoder_train_mode: run the frozen encoder in training mode while the head
            trains (BatchNorm batch statistics; the released trainer's behaviour).
        device: torch device; quiet: no progress bar.
    """

    optimizer: str = "sgd"
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 8
    crop: int | None = 128
    normalise: bool = True
    encoder_train_mode: bool = False
    device: str = "cpu"
    quiet: bool = True


def random_crop(batch: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """One random ``size`` x ``size`` window of the last two axes, the same for the whole batch."""
    height, width = batch.shape[-2:]
    top = int(torch.randint(0, height - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - size + 1, (1,), generator=generator))
    return batch[..., top : top + size, left : left + size]


def _prepare(x: torch.Tensor, mean: float, std: float, settings: HeadSettings) -> torch.Tensor:
    x = as_unit_float(x).to(settings.device)
    return (x - mean) / std if settings.normalise else x


def train_linear_head(
    encoder: nn.Module,
    n_classes: int,
    images: torch.Tensor | np.ndarray,
    labels: np.ndarray,
    settings: HeadSettings,
    *,
    mean: float,
    std: float,
    seed: int,
) -> nn.Linear:
    """Train a linear classifier on the frozen ``encoder``'s features.

    Args:
        encoder: ``(B, C, [D,] h, w) -> (B, F)``; its weights are not trained.
        images: uint8 (scaled by 1/255) or float ``(N, C, [D,] H, W)`` training tiles.
        labels: ``(N,)`` ints.
        settings: see :class:`HeadSettings`.
        mean, std: the encoder's input normalisation.
        seed: head initialisation, batch order and crop offsets.

    Returns:
        The trained ``nn.Linear(F, n_classes)`` on ``settings.device``.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    was_training = encoder.training
    images = torch.as_tensor(images)
    targets = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    with torch.no_grad():
        probe = _prepare(images[:1], mean, std, settings)
        width = checked_forward(encoder.eval(), probe if settings.crop is None
                                else probe[..., : settings.crop, : settings.crop],
                                "training tiles").shape[1]
    head = nn.Linear(int(width), n_classes).to(settings.device)
    if settings.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(head.parameters(), lr=settings.lr)
    else:
        optimizer = torch.optim.SGD(head.parameters(), lr=settings.lr)
    steps = len(images) // settings.batch_size
    if steps == 0:
        raise TrainingError(f"linear head: {len(images)} training tiles give no full batch of "
                            f"{settings.batch_size}")
    encoder.train(settings.encoder_train_mode)
    progress = LoopProgress("linear head", settings.epochs, unit="epochs",
                            enabled=not settings.quiet)
    try:
        with progress:  # a stopped run's log says 'stopped', not 'done'
            for epoch in range(settings.epochs):
                order = torch.randperm(len(images), generator=generator)
                for step in range(steps):
                    index = order[step * settings.batch_size : (step + 1) * settings.batch_size]
                    batch = images[index]
                    if settings.crop is not None:
                        batch = random_crop(batch, settings.crop, generator)
                    with torch.no_grad():
                        features = checked_forward(encoder, _prepare(batch, mean, std, settings),
                                                   "training tiles")
                    logits = head(features)
                    loss = F.cross_entropy(logits, targets[index].to(settings.device))
                    if not torch.isfinite(loss):
                        raise TrainingError(f"linear head diverged (loss {loss.item()}); "
                                            f"lower its lr ({settings.lr})")
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                progress.update(detail=f"epoch {epoch + 1}, loss {loss.item():.3f}")
    finally:
        encoder.train(was_training)
    return head


@torch.no_grad()
def predict_with_head(
    encoder: nn.Module,
    head: nn.Linear,
    images: torch.Tensor | np.ndarray,
    settings: HeadSettings,
    *,
    mean: float,
    std: float,
    batch_size: int = 256,
) -> np.ndarray:
    """Class predictions ``(N,)`` of ``head`` on the frozen encoder's features of ``images``
    (eval mode, normalised as in training; the encoder's mode is restored)."""
    was_training = encoder.training
    encoder.eval()
    images = torch.as_tensor(images)
    out = []
    progress = LoopProgress("scoring test crops", len(images), unit="crops",
                            enabled=not settings.quiet)
    try:
        with progress:
            for start in range(0, len(images), batch_size):
                batch = _prepare(images[start : start + batch_size], mean, std, settings)
                features = checked_forward(encoder, batch, "test crops")
                out.append(head(features).argmax(dim=1).cpu())
                progress.update(len(batch))
    finally:
        encoder.train(was_training)
    return torch.cat(out).numpy()
