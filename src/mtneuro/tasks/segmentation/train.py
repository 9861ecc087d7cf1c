"""Supervised training of a segmentation network: loss, optimiser, schedule, checkpoints.

One function, :func:`train_segmentation`, runs epochs of :class:`CropBatches`
with cross-entropy (optionally plus soft Dice), optional class weights, AdamW
or SGD (with or without momentum) and a per-step cosine learning-rate decay or a
constant rate (MTNeuro's ``task2_main.py``: plain SGD, no scheduler). Every
``checkpoint_every`` epochs and after the last, the model,
optimiser, schedule, AMP scaler and torch's random-number state are saved atomically, so
``resume=True`` continues an interrupted run and ends with the same weights (on CPU) as an
uninterrupted one: the batches of epoch e depend only on ``(seed, e)``, and the dropout
masks of the later epochs (vnet, pspnet) continue from the saved generator state.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mtneuro import cpu_memory
from mtneuro.acceleration import autocast_dtype, channels_last_pays
from mtneuro.checkpoint_io import load_state, plain_json, restore_into, save_state
from mtneuro.config import to_dict
from mtneuro.errors import ConfigError, TrainingError
from mtneuro.progress import LoopProgress
from mtneuro.ssl.checkpoint import AFRESH
from mtneuro.ssl.divergence import DivergenceGuard
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.threads import resume_torch_threads


def balanced_class_weights(masks: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights ``N / (C * n_c)``, normalised to mean 1 over present classes.

    Classes absent from ``masks`` get weight 0 (they cannot be learned from them).
    """
    counts = np.bincount(np.asarray(masks).ravel(), minlength=n_classes)[:n_classes].astype(float)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = counts.sum() / (present.sum() * counts[present])
    weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


class SegmentationLoss(nn.Module):
    """Cross-entropy, optionally plus soft Dice (mean over classes present in batch or prediction).

    Shapes:
        logits ``(B, C, *spatial)``, target int64 ``(B, *spatial)`` -> scalar.
    """

    def __init__(self, kind: str = "ce", weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.ce = nn.CrossEntropyLoss(weight=weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = self.ce(logits.float(), target)
        if self.kind == "dice_ce":
            probs = logits.float().softmax(dim=1)
            onehot = nn.functional.one_hot(target, probs.shape[1]).movedim(-1, 1).float()
            dims = (0, *range(2, probs.dim()))
            overlap = (probs * onehot).sum(dims)
            total = probs.sum(dims) + onehot.sum(dims)
            dice = (2 * overlap + 1e-5) / (total + 1e-5)
            loss = loss + (1 - dice).mean()
        return loss


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
        )
    return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)


def cosine_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step cosine decay from the peak rate to 0 over ``total_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )


#: What a task 2 checkpoint holds, with the type of each value (read with weights_only=True).
CHECKPOINT_KEYS = {"model": dict, "optimizer": dict, "scheduler": dict, "scaler": dict,
                   "epoch": int, "history": list, "record": dict}


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """torch's generator states that training draws from (dropout): the CPU one always, and
    the accelerator's when training runs there (its dropout masks come from its own generator).
    """
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        state["mps"] = torch.mps.get_rng_state()
    return state


def restore_rng_state(state: Any, device: torch.device, path: Path) -> None:
    """Set torch's generators to the states a checkpoint saved (:func:`rng_state`).

    A checkpoint from before the states were saved still resumes, with a warning: its
    dropout masks after resuming differ from those of an uninterrupted run.
    """
    if not isinstance(state, dict) or "cpu" not in state:
        warnings.warn(f"--resume: task 2 checkpoint {path} holds no random-number state "
                      "(written by an older mtneuro); a model with dropout will not end "
                      "exactly as an uninterrupted run", UserWarning, stacklevel=3)
        return
    # map_location may have moved the saved states onto the device; setters take CPU bytes.
    torch.set_rng_state(state["cpu"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)
    elif device.type == "mps" and "mps" in state:
        torch.mps.set_rng_state(state["mps"].cpu())


def make_schedule(
    optimizer: torch.optim.Optimizer, settings: TrainSettings, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning-rate schedule of ``settings`` (a constant rate is a factor of 1)."""
    if settings.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return cosine_schedule(optimizer, total_steps)


def _first_difference(saved: Any, now: Any, where: str = "") -> str:
    """The first setting in which a checkpoint's run record and this run's differ, in words
    (``settings.lr was 0.01, now 0.003``)."""
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in [*saved, *(k for k in now if k not in saved)]:
            if saved.get(key) != now.get(key):
                return _first_difference(saved.get(key), now.get(key), f"{where}{key}.")
    return f"{where.rstrip('.') or 'record'} was {saved!r}, now {now!r}"


def train_segmentation(
    model: nn.Module,
    batches: CropBatches,
    settings: TrainSettings,
    *,
    n_classes: int,
    device: torch.device | str = "cpu",
    checkpoint: str | Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, Any] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train ``model`` in place on ``batches``.

    Args:
        model: maps ``(B, 1, [D,] h, w)`` to logits ``(B, n_classes, [D,] h, w)``.
        batches: the training crops; ``batches.epoch(e)`` is drawn per epoch.
        settings: see :class:`TrainSettings`.
        n_classes: number of classes (for the class weights).
        device: where to train; AMP is used when it is CUDA and ``settings.amp``.
        checkpoint: file written every ``settings.checkpoint_every`` epochs and after the
            last (``None``: no checkpoints).
        resume: continue from ``checkpoint`` if it exists.
        fingerprint: plain data identifying the run (model, classes, seed, ...); a
            checkpoint written under another fingerprint is refused on resume.
        quiet: no progress bar.

    Returns:
        ``{"loss_per_epoch": [...], "epochs": int, "steps": int, "resumed_from_epoch": int}``.

    Raises:
        TrainingError: the loss became NaN or infinite.
        ConfigError: the checkpoint belongs to a different run.
    """
    device = torch.device(device)
    with cpu_memory.retained_cpu_memory(settings.retain_cpu_memory, device):
        return _train(model, batches, settings, n_classes, device, checkpoint, resume,
                      fingerprint, quiet)


def _train(model: nn.Module, batches: CropBatches, settings: TrainSettings, n_classes: int,
           device: torch.device, checkpoint: str | Path | None, resume: bool,
           fingerprint: dict[str, Any] | None, quiet: bool) -> dict[str, Any]:
    model.to(device)
    dtype = autocast_dtype(settings.amp, device)
    if settings.channels_last and channels_last_pays(model, device, dtype):
        model.to(memory_format=torch.channels_last)
    if isinstance(settings.class_weights, str):
        weight = (
            balanced_class_weights(batches.masks, n_classes)
            if settings.class_weights == "balanced"
            else None
        )
    else:
        if len(settings.class_weights) != n_classes:
            raise ConfigError(
                f"train.class_weights: expected {n_classes} weights, "
                f"got {len(settings.class_weights)}"
            )
        weight = torch.tensor(settings.class_weights, dtype=torch.float32)
    criterion = SegmentationLoss(settings.loss, weight.to(device) if weight is not None else None)
    optimizer = make_optimizer(model, settings)
    total_steps = settings.epochs * len(batches)
    scheduler = make_schedule(optimizer, settings, total_steps)
    use_amp = dtype is not None
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)
    # Neither changes what is computed, so a resumed run may switch them.
    run_settings = {k: v for k, v in to_dict(settings).items()
                    if k not in ("retain_cpu_memory", "checkpoint_every")}
    record = plain_json({"settings": run_settings, "fingerprint": fingerprint or {}})
    history: list[float] = []
    start = 0
    path = Path(checkpoint) if checkpoint is not None else None
    if resume and path is not None and path.is_file():
        state = load_state(path, what="task 2 checkpoint", required=CHECKPOINT_KEYS,
                           map_location=device, damaged_fix=AFRESH)
        if state.get("record") != record:
            raise ConfigError(
                f"--resume: checkpoint {path} was written by a different run "
                f"({_first_difference(state.get('record'), record)}); resume it with the "
                "settings it was started with, use another --out, or start it afresh with "
                "--overwrite instead of --resume"
            )
        for key, target in (("model", model), ("optimizer", optimizer),
                            ("scheduler", scheduler), ("scaler", scaler)):
            restore_into(target, state, key, path, "task 2 checkpoint")
        history, start = list(state["history"]), int(state["epoch"])
        restore_rng_state(state.get("rng"), device, path)
        resume_torch_threads(state.get("torch_threads"), str(path))
    saved = start  # the epoch of the checkpoint on disk (0: none)
    guard = DivergenceGuard()
    guard.losses = list(history)
    progress = LoopProgress("task-2 training", (settings.epochs - start) * len(batches)
                            * settings.batch_size, unit="samples", enabled=not quiet)
    with progress:
        for epoch in range(start, settings.epochs):
            model.train()
            running, count = 0.0, 0
            kept = (f"the checkpoint of epoch {saved} is kept in {path}"
                    if path is not None and saved else "no checkpoint had been written")
            for images, masks in batches.epoch(epoch):
                images, masks = (
                    images.to(device, non_blocking=True),
                    masks.to(device, non_blocking=True),
                )
                with torch.autocast(device.type, dtype=dtype, enabled=use_amp):
                    logits = model(images)
                loss = criterion(logits, masks)
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"loss became {loss.item()} at epoch {epoch + 1}; training stopped, "
                        f"{kept}; lower train.lr (now {settings.lr}) and run again with "
                        "--overwrite (--resume continues only with the settings it started with)"
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                running += loss.item()
                count += 1
                progress.update(images.shape[0], detail=f"epoch {epoch + 1}/{settings.epochs}, "
                                                        f"loss {running / count:.4f}")
            history.append(running / max(count, 1))
            guard.check(model, optimizer, history[-1], f"epoch {epoch + 1}", lambda kept=kept: kept)
            if path is not None and ((epoch + 1) % settings.checkpoint_every == 0
                                     or epoch + 1 == settings.epochs):
                save_state(
                    path,
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "scaler": scaler.state_dict(),
                        "epoch": epoch + 1,
                        "history": history,
                        "record": record,
                        "torch_threads": torch.get_num_threads(),
                        # Dropout draws from these generators: without them a resumed run
                        # would start the next epoch from the model-creation state.
                        "rng": rng_state(device),
                    },
                    position=f"epoch {epoch + 1}/{settings.epochs}" + (
                        f" of seed {fingerprint['seed']}" if "seed" in (fingerprint or {})
                        else ""),
                )
                saved = epoch + 1
    return {
        "loss_per_epoch": history,
        "epochs": settings.epochs,
        "steps": total_steps,
        "resumed_from_epoch": start,
    }
