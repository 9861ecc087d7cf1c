"""Task 2 end to end: read the tiles, train each seed, evaluate on the test z range, summarise.

:func:`run_task2` is the Python API behind ``mtneuro task2``; it returns plain
numbers (and a few example arrays for the overlays) and writes nothing but
optional training checkpoints.

Protocol (MTNeuro ``task2_*`` configs, see ``docs/protocols.md`` B.2/B.5): tiles
of sub-volume A, train z ``[110, 379)``, test z ``[420, 470)``; 4 classes on
cortex/striatum/thalamus, 3 classes (axons merged into background) on all four
regions; 2D slices or 8-slice 3D blocks. Presets:

* ``paper``: ``scripts/task2_main.py`` with the ``UNet_*`` network configs: whole
  256 x 256 tiles (8 x 256 x 256 blocks in 3D), every slice, batch 8 (3D: 1), plain SGD
  (no momentum, no weight decay) at lr 0.01 without a scheduler, cross-entropy, no
  augmentation, 5 epochs, fp32, the model after the last epoch. The reference starts
  smp encoders from ImageNet weights: pass ``encoder_weights="imagenet"``
  (``--encoder-weights imagenet``); the default stays random initialisation (no
  downloads), which the run's protocol card lists as a deviation.
* ``quick``: a few minutes on 2 idle CPU cores: every 4th training slice, every
  5th test slice, 200 steps of 8 random 128 x 128 crops, AdamW, Dice + CE; 3D
  uses 64 x 64 crops of the 8-slice blocks. Numbers from it are a pipeline
  check, not comparable with the paper.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from mtneuro.config import check, from_mapping, in_unit_interval, positive, to_dict
from mtneuro.data.datasets import SegmentationTileDataset
from mtneuro.data.sources import open_source
from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import REGIONS, segmentation_setting
from mtneuro.errors import ConfigError
from mtneuro.models.segmentation import create_segmentation_model, model_dim
from mtneuro.registry import check_choice
from mtneuro.stats import mean_std
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.inference import evaluate_tiles
from mtneuro.tasks.segmentation.train import TrainSettings, train_segmentation


@dataclass(frozen=True)
class Task2Config:
    """One task-2 experiment (validated by :func:`mtneuro.config.from_mapping`).

    Attributes:
        model: a segmentation model name (``unet``, ..., ``unet3d``, ``ssl-unet``).
        classes: 3 or 4 (see :data:`mtneuro.data.spec.SEGMENTATION_SETTINGS`).
        dim: ``"2d"`` or ``"3d"``; ``None`` takes the model's.
        source: volume source name (``phantom``, ``bossdb``, ``cache``, ...).
        source_params: keyword arguments of the source.
        seeds: one training run per seed; scores are summarised as mean +- std.
        encoder: ``ssl-unet`` encoder: a ``mtneuro pretrain`` checkpoint or user spec.
        encoder_name: smp encoder of the 2D models (default ``resnet18``).
        encoder_weights: smp encoder weights: ``"imagenet"`` (fetched and cached by smp,
            as MTNeuro) or a local file; ``None``: random initialisation.
        train_z_step: keep every n-th training slice/block.
        test_z_step: keep every n-th test slice/block.
        window: side of the sliding inference window; ``None`` = ``train.crop``.
        overlap: overlap of neighbouring inference windows, in [0, 1).
        eval_batch_size: tiles per inference call.
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        examples_per_region: test tiles per region kept for the overlays.
        train: optimisation settings (:class:`TrainSettings`).
        preset: the preset the values started from (set by :func:`task2_config`; named in
            the protocol card, changes nothing by itself).
    """

    model: str = "unet"
    classes: Literal[3, 4] = 4
    dim: Literal["2d", "3d"] | None = None
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = field(
        default=(0,), metadata=check(lambda v: len(v) > 0, "at least one seed")
    )
    encoder: str | None = None
    encoder_name: str | None = None
    encoder_weights: str | None = None
    train_z_step: int = field(default=1, metadata=positive())
    test_z_step: int = field(default=1, metadata=positive())
    window: int | None = field(default=None, metadata=positive())
    overlap: float = field(default=0.25, metadata=in_unit_interval())
    eval_batch_size: int = field(default=4, metadata=positive())
    device: str = "auto"
    examples_per_region: int = field(default=2, metadata=check(lambda v: v >= 0, "int >= 0"))
    train: TrainSettings = field(default_factory=TrainSettings)
    preset: Literal["paper", "quick"] | None = None


#: preset -> dim -> overrides (``train`` is a nested mapping).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # MTNeuro/networkconfig/UNet_{2D,3D}_*class.json with scripts/task2_main.py (lines
    # cited in docs/protocols.md); every field the reference fixes is set here.
    "paper": {
        dim: {
            "train_z_step": 1,
            "test_z_step": 1,
            "window": None,
            "train": {
                "epochs": 5,
                "batch_size": 8 if dim == "2d" else 1,
                "crop": 256,
                "steps_per_epoch": None,
                "optimizer": "sgd",
                "momentum": 0.0,
                "lr": 0.01,
                "schedule": "constant",
                "weight_decay": 0.0,
                "loss": "ce",
                "class_weights": "none",
                "augment": False,
                "drop_last": False,
                "amp": False,
            },
        }
        for dim in ("2d", "3d")
    },
    "quick": {
        "2d": {
            "train_z_step": 4,
            "test_z_step": 5,
            "window": 256,
            "train": {
                "epochs": 8,
                "steps_per_epoch": 25,
                "batch_size": 8,
                "crop": 128,
                "optimizer": "adamw",
                "lr": 3e-3,
                "loss": "dice_ce",
            },
        },
        "3d": {
            "train_z_step": 2,
            "test_z_step": 1,
            "window": 128,
            "train": {
                "epochs": 6,
                "batch_size": 4,
                "crop": 64,
                "optimizer": "adamw",
                "lr": 3e-3,
                "loss": "dice_ce",
            },
        },
    },
}


def task2_config(preset: str | None = None, **overrides: Any) -> Task2Config:
    """Build a validated :class:`Task2Config` from a preset plus overrides.

    ``None`` overrides are ignored (unset CLI flags); ``train`` overrides merge
    key by key into the preset's ``train`` section.

    >>> task2_config("quick", model="unet", classes=4).train.crop
    128
    """
    overrides = {k: v for k, v in overrides.items() if v is not None}
    base: dict[str, Any] = {}
    if preset is not None:
        check_choice("preset", preset, list(PRESETS))
        dim = overrides.get("dim") or model_dim(str(overrides.get("model", Task2Config.model)))
        base = {
            k: (dict(v) if isinstance(v, Mapping) else v) for k, v in PRESETS[preset][dim].items()
        }
    train = {
        **base.pop("train", {}),
        **{k: v for k, v in dict(overrides.pop("train", {})).items() if v is not None},
    }
    return from_mapping(Task2Config, {**base, **overrides, "train": train, "preset": preset})


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; other names are checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device: expected 'auto', 'cpu' or 'cuda[:N]', got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r}: CUDA is not available on this machine; use --device cpu"
        )
    return device


def _summary(per_seed: list[dict], class_names: tuple[str, ...]) -> dict[str, Any]:
    """Mean +- std over seeds of the averages and of every per-class score (undefined
    scores of a seed, e.g. the IoU of a class absent from the test set, left out)."""
    out: dict[str, Any] = {}
    for key in ("avg_f1", "avg_iou", "avg_iou_pooled", "balanced_accuracy", "pixel_accuracy"):
        out[key] = mean_std([s["scores"][key] for s in per_seed])
    for key in ("f1", "iou", "iou_pooled", "recall"):
        out[key] = {c: mean_std([s["scores"][key][c] for s in per_seed]) for c in class_names}
    return out


def _example_indices(region: np.ndarray, per_region: int) -> np.ndarray:
    """Evenly spaced test tiles of each region (first, middle, ...)."""
    picks = []
    for r in np.unique(region):
        where = np.flatnonzero(region == r)
        take = np.linspace(0, len(where) - 1, num=min(per_region, len(where))).round().astype(int)
        picks.extend(where[np.unique(take)].tolist())
    return np.asarray(picks, dtype=np.int64)


def run_task2(
    config: Task2Config,
    *,
    source: VolumeSource | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train and evaluate ``config.model`` once per seed.

    Args:
        config: the experiment.
        source: an opened volume source (default: opened from ``config.source`` and
            ``config.source_params``).
        checkpoint_dir: where ``seed<N>.pt`` training checkpoints go (``None``: none).
        resume: continue seeds from their checkpoints.
        quiet: no progress bars.

    Returns:
        ``{"metrics": {"setting", "per_seed", "summary", ...}, "examples": {...}}``;
        ``metrics`` is plain data for ``metrics.json`` (per-seed scores and mean +- std
        over seeds); ``examples`` holds uint8 arrays ``image`` (K, [D,] H, W),
        ``truth`` and ``prediction`` (K, [D,] H, W) and int ``region`` (K,) of the first seed
        for the overlays.
    """
    dim = config.dim or model_dim(config.model)
    if dim != model_dim(config.model):
        create_segmentation_model(
            config.model, config.classes, dim
        )  # raises, naming the valid models
    create_kwargs = {
        "encoder": config.encoder,
        "encoder_name": config.encoder_name,
        "encoder_weights": config.encoder_weights,
    }
    if config.model == "ssl-unet" and (config.encoder_name or config.encoder_weights):
        raise ConfigError(
            "encoder_name/encoder_weights apply to smp models; ssl-unet takes --encoder"
        )
    if config.model != "ssl-unet" and config.encoder is not None:
        raise ConfigError(f"--encoder applies to model 'ssl-unet', not {config.model!r}")
    setting = segmentation_setting(config.classes)
    device = resolve_device(config.device)
    source = source if source is not None else open_source(config.source, **config.source_params)
    started = time.perf_counter()
    train_set = SegmentationTileDataset(
        source, config.classes, "train", dim, z_step=config.train_z_step
    )
    test_set = SegmentationTileDataset(
        source, config.classes, "test", dim, z_step=config.test_z_step
    )
    train_images, train_masks = train_set.arrays()
    test_images, test_masks = test_set.arrays()
    read_s = time.perf_counter() - started
    crop = config.train.crop
    side = config.window or crop
    window = (side, side) if dim == "2d" else (test_images.shape[2], side, side)

    per_seed, examples = [], {}
    for seed in config.seeds:
        torch.manual_seed(seed)
        model = create_segmentation_model(config.model, config.classes, dim, **create_kwargs)
        batches = CropBatches(
            train_images,
            train_masks,
            batch_size=config.train.batch_size,
            crop=crop,
            seed=seed,
            augment=config.train.augment,
            steps_per_epoch=config.train.steps_per_epoch,
            drop_last=config.train.drop_last,
        )
        t0 = time.perf_counter()
        history = train_segmentation(
            model,
            batches,
            config.train,
            n_classes=config.classes,
            device=device,
            checkpoint=Path(checkpoint_dir) / f"seed{seed}.pt" if checkpoint_dir else None,
            resume=resume,
            quiet=quiet,
            fingerprint={
                "model": config.model,
                "classes": config.classes,
                "dim": dim,
                "seed": seed,
                "source": source.describe(),
                "train_z_step": config.train_z_step,
                "encoder": config.encoder,
                "encoder_name": config.encoder_name,
            },
        )
        t1 = time.perf_counter()
        scores, predictions = evaluate_tiles(
            model,
            test_images,
            test_masks,
            config.classes,
            window,
            class_names=setting.class_names,
            overlap=config.overlap,
            batch_size=config.eval_batch_size,
            device=device,
            amp=config.train.amp,
        )
        t2 = time.perf_counter()
        per_seed.append(
            {
                "seed": seed,
                "scores": scores,
                "train": history,
                "train_s": t1 - t0,
                "eval_s": t2 - t1,
            }
        )
        if not examples:
            pick = _example_indices(test_set.region, config.examples_per_region)
            examples = {
                "image": test_images[pick, 0],
                "truth": test_masks[pick].astype(np.uint8),
                "prediction": predictions[pick],
                "region": test_set.region[pick],
                "region_names": REGIONS,
                "class_names": setting.class_names,
            }
        del model

    metrics = {
        "setting": {
            "classes": config.classes,
            "dim": dim,
            "regions": list(setting.regions),
            "class_names": list(setting.class_names),
        },
        "model": config.model,
        "device": str(device),
        "n_train_tiles": int(train_images.shape[0]),
        "n_test_tiles": int(test_images.shape[0]),
        "train_tile_shape": list(train_images.shape[1:]),
        "window": list(window),
        "read_s": read_s,
        "per_seed": per_seed,
        "summary": _summary(per_seed, setting.class_names),
    }
    return {
        "metrics": metrics,
        "examples": examples,
        "config": to_dict(config),
        "source": source.describe(),
    }
