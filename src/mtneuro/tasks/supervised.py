"""Supervised region classifiers: an encoder plus a linear head trained end to end.

``supervised`` is the MTNeuro supervised ResNet-18 (``SUP_ResNet-18_2D``: cross-entropy,
SGD lr 0.01); ``supervised-mixup`` adds mixup (:mod:`mtneuro.tasks.mixup`). The settings
select the recipe (task 1's :mod:`mtneuro.tasks.region_protocol`): the paper's (inputs in
[0, 1] as read, plain SGD at a constant rate, no augmentation, the model after the last
epoch) or the ``resized`` one (:data:`RESIZED`: normalised inputs, momentum and cosine
decay, random flips, precise BatchNorm statistics, and the epoch with the best validation
accuracy: model selection on the validation split, never on test). Task 3 probes the
encoder of a classifier trained with the ``resized`` recipe
(:func:`train_supervised_encoder`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mtneuro import cpu_memory
from mtneuro.acceleration import channels_last_pays
from mtneuro.data.spec import REGIONS
from mtneuro.errors import TrainingError
from mtneuro.models import create_encoder
from mtneuro.progress import LoopProgress
from mtneuro.tasks.mixup import MIXUP_ALPHA, mixup_batch, soft_cross_entropy
from mtneuro.tasks.tile_inputs import as_unit_float, quadrant_crops, resize_tiles
from mtneuro.tasks.volume import SplitData
from mtneuro.vocab import XRAY_MEAN, XRAY_STD

#: The ``resized`` recipe, for short CPU runs: tiles resized to ``input_size`` px, SGD
#: with these values, cosine decay, flips, precise BatchNorm and the best validation
#: epoch; ``epochs`` of full runs, quick runs train :data:`QUICK_EPOCHS`.
RESIZED = {"input_size": 64, "batch_size": 32, "lr": 0.05, "momentum": 0.9,
           "weight_decay": 5e-4, "epochs": 30}
QUICK_EPOCHS = 8


@dataclass(frozen=True)
class SupervisedSettings:
    """Training settings (validated by :class:`mtneuro.tasks.region_config.Task1Config`).

    Attributes:
        epochs: passes over the training tiles.
        batch_size: tiles per step.
        lr: SGD learning rate.
        momentum: SGD momentum (the reference: none).
        schedule: ``cosine`` (per-step decay to 0) or ``constant`` (the reference).
        weight_decay: L2 penalty.
        mixup_alpha: Beta parameter of mixup; 0 disables mixup.
        augment: random flips of training batches.
        normalise: standardise inputs with the X-ray mean and std (the reference feeds
            [0, 1] intensities).
        select_best: keep the epoch with the best validation accuracy (else the last).
        recalibrate_bn: recompute BatchNorm statistics over the training inputs after
            every epoch (precise BN).
        device: torch device string.
        quiet: no progress bar.
        retain_cpu_memory: on CPU, keep freed memory for reuse while training
            (:func:`mtneuro.cpu_memory.retained_cpu_memory`): faster, higher peak memory.
        channels_last: train 2D models in NHWC memory format where it pays
            (:func:`mtneuro.acceleration.channels_last_pays`; 1.3x a step for
            ``resnet-tiny`` and ``resnet18`` on 2 CPU cores, ``benchmarks/channels_last.py``).
            Results agree with NCHW to float rounding, not bit for bit.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    schedule: str = "cosine"
    weight_decay: float = 5e-4
    mixup_alpha: float = 0.0
    augment: bool = True
    normalise: bool = True
    select_best: bool = True
    recalibrate_bn: bool = True
    device: str = "cpu"
    quiet: bool = True
    retain_cpu_memory: bool = True
    channels_last: bool = True


class Classifier(nn.Module):
    """Optional fixed intensity normalisation, ``encoder``, then a linear layer on its features.

    The normalisation matters for short runs: X-ray tiles have little contrast (std
    ~0.1), and BatchNorm running variances initialised at 1 would otherwise need many
    steps to shrink to the data's scale, collapsing eval-mode features. The reference
    classifier has none (``normalise=False``). uint8 inputs are scaled to [0, 1] first.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, normalise: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(int(encoder.out_dim), num_classes)
        self.normalise = normalise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_unit_float(x)
        return self.head(self.encoder((x - XRAY_MEAN) / XRAY_STD if self.normalise else x))


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module, x: torch.Tensor, *, batch_size: int = 256, device: str = "cpu"
) -> None:
    """Set BatchNorm running statistics to their averages over ``x`` (precise BN).

    Running averages with momentum lag behind the weights in short trainings; one
    no-grad pass over the training inputs fixes eval mode. Each batch's statistics are
    weighted by its size, so the running mean is the exact mean over ``x`` and a short last
    batch counts as its samples, not as a full batch (the running variance averages the
    batches' variances); a last batch of one sample joins the one before it (BatchNorm
    cannot normalise a single sample).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
    starts = list(range(0, len(x), batch_size))
    if len(starts) > 1 and len(x) - starts[-1] == 1:
        starts.pop()
    model.train()
    try:
        for index, start in enumerate(starts):
            stop = starts[index + 1] if index + 1 < len(starts) else len(x)
            for m in norms:  # this batch's share of all samples seen so far
                m.momentum = (stop - start) / stop
            model(x[start:stop].to(device))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)


def random_flips(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each sample of ``(B, C, [D,] H, W)`` left-right and/or up-down with p = 0.5."""
    flip = torch.rand((2, x.shape[0]), generator=generator).to(x.device) < 0.5
    shape = (-1,) + (1,) * (x.ndim - 1)
    x = torch.where(flip[0].reshape(shape), x.flip(-1), x)
    return torch.where(flip[1].reshape(shape), x.flip(-2), x)


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, *, batch_size: int = 256, device: str = "cpu"
) -> np.ndarray:
    """Class predictions ``(N,)`` of ``model`` on ``x`` (eval mode, batched)."""
    was_training = model.training
    model.eval()
    try:
        out = [
            model(x[i : i + batch_size].to(device)).argmax(dim=1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def train_classifier(
    encoder: nn.Module,
    num_classes: int,
    train: tuple[torch.Tensor, np.ndarray],
    val: tuple[torch.Tensor, np.ndarray],
    settings: SupervisedSettings,
    *,
    seed: int,
) -> tuple[Classifier, dict]:
    """Train ``encoder`` + linear head with cross-entropy (optionally mixup).

    Args:
        encoder: module with ``out_dim``; trained in place.
        num_classes: number of classes.
        train: images ``(N, 1, [D,] S, S)``, uint8 or float in [0, 1], and int labels ``(N,)``.
        val: validation images (e.g. quadrant crops) and labels for model selection.
        settings: see :class:`SupervisedSettings`.
        seed: seeds initialisation of the head, batch order, flips and mixup.

    Returns:
        ``(model at its best validation epoch, or its last with select_best off,
        history)``; history has per-epoch ``loss`` and ``val_accuracy`` and the kept
        epoch as ``best_epoch`` (1-based).
    """
    with cpu_memory.retained_cpu_memory(settings.retain_cpu_memory, settings.device):
        return _train_classifier(encoder, num_classes, train, val, settings, seed)


def _train_classifier(encoder: nn.Module, num_classes: int, train: tuple[torch.Tensor, np.ndarray],
                      val: tuple[torch.Tensor, np.ndarray], settings: SupervisedSettings,
                      seed: int) -> tuple[Classifier, dict]:
    torch.manual_seed(seed)
    model = Classifier(encoder, num_classes, normalise=settings.normalise).to(settings.device)
    if settings.channels_last and channels_last_pays(model, torch.device(settings.device), None):
        model.to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = train[0], torch.as_tensor(np.asarray(train[1]), dtype=torch.long)
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                          weight_decay=settings.weight_decay)
    steps_per_epoch = max(1, int(np.ceil(len(x_train) / settings.batch_size)))
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.epochs * steps_per_epoch)
             if settings.schedule == "cosine" else None)
    history: dict = {"loss": [], "val_accuracy": [], "best_epoch": 0}
    best_acc, best_state = -1.0, None
    progress = LoopProgress("supervised training", settings.epochs, unit="epochs",
                            enabled=not settings.quiet)
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        losses = []
        for start in range(0, len(order), settings.batch_size):
            # a last batch of one tile trains too, as the reference's DataLoader keeps it
            # (BatchNorm2d/3d statistics are over the tile's pixels as well)
            idx = order[start : start + settings.batch_size]
            xb, yb = as_unit_float(x_train[idx]), y_train[idx]
            if settings.augment:
                xb = random_flips(xb, gen)
            xb, yb = xb.to(settings.device), yb.to(settings.device)
            if settings.mixup_alpha > 0:
                xb, soft, _lam = mixup_batch(
                    xb, yb, num_classes, alpha=settings.mixup_alpha, generator=gen
                )
                loss = soft_cross_entropy(model(xb), soft)
            else:
                loss = F.cross_entropy(model(xb), yb)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"supervised training diverged (loss {loss.item()}); lower lr ({settings.lr})"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(loss.item())
        if settings.recalibrate_bn:
            recalibrate_batchnorm(model, x_train, device=settings.device)
        acc = float(np.mean(predict(model, val[0], device=settings.device) == np.asarray(val[1])))
        history["loss"].append(float(np.mean(losses)) if losses else float("nan"))
        history["val_accuracy"].append(acc)
        if not settings.select_best:
            history["best_epoch"] = len(history["val_accuracy"])
        elif acc > best_acc:
            best_acc, best_state = acc, copy.deepcopy(model.state_dict())
            history["best_epoch"] = len(history["val_accuracy"])
        progress.update(detail=f"epoch {epoch + 1}, loss {history['loss'][-1]:.3f}, "
                               f"validation accuracy {acc:.3f}")
    progress.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def train_supervised_encoder(splits: dict[str, SplitData], *, method: str, backbone: str,
                             input_size: int, quick: bool, seed: int, device: str = "cpu",
                             quiet: bool = True) -> tuple[nn.Module, float]:
    """The encoder of a region classifier trained with the ``resized`` recipe.

    Args:
        splits: ``"train"`` and ``"val"`` tiles of a region setting
            (:func:`mtneuro.tasks.volume.load_region_splits`), 2D.
        method: ``supervised`` or ``supervised-mixup`` (mixup with alpha
            :data:`~mtneuro.tasks.mixup.MIXUP_ALPHA`).
        backbone: encoder name (:func:`mtneuro.models.create_encoder`).
        input_size: side tiles are resized to; the epoch is chosen on the quadrant crops
            of the resized validation tiles.
        quick: train :data:`QUICK_EPOCHS` epochs (else ``RESIZED["epochs"]``).

    Returns:
        ``(encoder (N, 1, input_size / 2, input_size / 2) -> (N, D), its classifier's best
        validation accuracy)``.
    """
    settings = SupervisedSettings(
        epochs=QUICK_EPOCHS if quick else RESIZED["epochs"],
        batch_size=RESIZED["batch_size"],
        lr=RESIZED["lr"],
        momentum=RESIZED["momentum"],
        weight_decay=RESIZED["weight_decay"],
        mixup_alpha=MIXUP_ALPHA if method == "supervised-mixup" else 0.0,
        device=device,
        quiet=quiet,
    )
    train, val = splits["train"], splits["val"]
    val_x, val_y = quadrant_crops(resize_tiles(val.images, input_size), val.labels)
    model, history = train_classifier(
        create_encoder(backbone, in_channels=1, spatial_dims=2),
        len(REGIONS),
        (resize_tiles(train.images, input_size), train.labels),
        (val_x, val_y),
        settings,
        seed=seed,
    )
    return model.encoder, max(history["val_accuracy"])
