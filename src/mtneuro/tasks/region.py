"""MTNeuro task 1: brain-region classification (CTX / STR / VP / ZI) of X-ray tiles.

Protocol (``protocols.md`` B.4, reference ``BrainRegionDataset``; see
:mod:`mtneuro.tasks.region_inputs`): tiles of the setting's train / val / test
sub-volumes and slices (ROI-C1/C2/C3, :data:`mtneuro.data.spec.REGION_SETTINGS`) are
resized to ``input_size`` (64); models are trained on whole resized tiles; test
(and validation) tiles are cut into their four quadrant crops (32 x 32), each
scored on its own, so accuracy is over crops. Methods:

* ``supervised`` / ``supervised-mixup``: ResNet-18 (1 channel) + linear head trained
  end to end (:mod:`mtneuro.tasks.region_supervised`), best validation epoch kept;
* ``byol`` / ``myow`` / ``myow-merged`` / ``encoder``: frozen encoder
  (:mod:`mtneuro.tasks.region_encoders`) + :class:`~mtneuro.tasks.probe.LinearProbe`
  (C chosen on the validation crops);
* ``pca`` / ``nmf``: 256 components of flattened pixels
  (:mod:`mtneuro.tasks.baselines`) + the same linear probe. Flattened pixels need
  one input size, so these fit and train on the quadrant crops of the training
  tiles (the size they are tested on).

``quick`` subsamples slices (``z_step`` 8), uses ``resnet-tiny`` and few epochs.
Every seed re-initialises and re-trains; data are read once.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from mtneuro.config import check, from_mapping, positive, to_dict
from mtneuro.data.datasets import RegionTileDataset
from mtneuro.data.sources import open_source
from mtneuro.data.spec import REGION_SHORT, REGIONS
from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.tasks.baselines import PixelDecomposition
from mtneuro.tasks.probe import DEFAULT_CS, LinearProbe, extract_features
from mtneuro.tasks.region_encoders import check_encoder_given, frozen_encoder
from mtneuro.tasks.region_inputs import quadrant_crops, resize_tiles
from mtneuro.tasks.region_supervised import SupervisedSettings, predict, train_classifier

METHODS = ("supervised", "supervised-mixup", "byol", "myow", "myow-merged", "pca", "nmf", "encoder")
CLASS_NAMES = tuple(REGION_SHORT[r] for r in REGIONS)
QUICK = {"z_step": 8, "backbone": "resnet-tiny", "epochs": 8, "nmf_max_iter": 100}
FULL = {"z_step": 1, "backbone": "resnet18", "epochs": 30, "nmf_max_iter": 300}
Method = Literal[
    "supervised", "supervised-mixup", "byol", "myow", "myow-merged", "pca", "nmf", "encoder"
]


@dataclass(frozen=True)
class Task1Config:
    """Task-1 run configuration (``None`` fields take the ``quick`` or full preset value).

    Attributes:
        setting: ``roi-c1`` / ``roi-c2`` / ``roi-c3``.
        method: one of :data:`METHODS`.
        source: volume source name; source_params: its keyword arguments.
        dim: ``2d`` tiles or ``3d`` 8-slice blocks.
        seeds: one full run per seed; mean +- std reported over them.
        encoder: encoder spec for ``encoder`` (required) and SSL methods (optional).
        quick: small preset (``z_step`` 8, ``resnet-tiny``, 8 epochs, quick pre-training).
        input_size: side in pixels tiles are resized to (reference 64).
        test_crops: ``quadrants`` (reference) or ``none`` (score whole resized tiles).
        z_step: keep every ``z_step``-th tile / block of each split.
        backbone: encoder trained by the supervised methods.
        epochs, batch_size, lr, weight_decay: supervised training (SGD, momentum 0.9,
            cosine decay; lr 0.05 at batch 32 where the reference uses 0.01 at batch 8
            without momentum, so that short CPU runs converge).
        mixup_alpha: Beta parameter of ``supervised-mixup``.
        n_components: PCA / NMF components (capped by samples and pixels).
        nmf_max_iter: NMF iterations (quick 100, full 300).
        probe_cs: candidate C of the linear probe.
        pretrain_epochs: epochs of on-the-fly SSL pre-training (None: preset default).
        device: torch device; quiet: no progress bars.
    """

    setting: Literal["roi-c1", "roi-c2", "roi-c3"] = "roi-c1"
    method: Method = "supervised"
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    dim: Literal["2d", "3d"] = "2d"
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), metadata=check(lambda v: len(v) > 0, "at least one seed")
    )
    encoder: str | None = None
    quick: bool = False
    input_size: int = field(
        default=64, metadata=check(lambda v: v >= 4 and v % 2 == 0, "even int >= 4")
    )
    test_crops: Literal["quadrants", "none"] = "quadrants"
    z_step: int | None = field(default=None, metadata=positive())
    backbone: str | None = None
    epochs: int | None = field(default=None, metadata=positive())
    batch_size: int = field(default=32, metadata=check(lambda v: v >= 2, "int >= 2"))
    lr: float = field(default=0.05, metadata=positive("float"))
    weight_decay: float = field(default=5e-4, metadata=check(lambda v: v >= 0, "float >= 0"))
    mixup_alpha: float = field(default=0.2, metadata=positive("float"))
    n_components: int = field(default=256, metadata=positive())
    nmf_max_iter: int | None = field(default=None, metadata=positive())
    probe_cs: tuple[float, ...] = DEFAULT_CS
    pretrain_epochs: int | None = field(default=None, metadata=positive())
    device: str = "cpu"
    quiet: bool = True

    def preset(self, key: str) -> Any:
        """Value of ``key`` with ``None`` resolved from the quick or full preset."""
        value = getattr(self, key)
        return value if value is not None else (QUICK if self.quick else FULL)[key]


@dataclass
class SplitData:
    """One split: uint8 tiles ``(N, 1, [8,] H, W)``, labels ``(N,)`` and first slice ``(N,)``."""

    images: np.ndarray
    labels: np.ndarray
    z: np.ndarray


def load_task1_data(config: Task1Config) -> tuple[dict[str, SplitData], dict[str, Any]]:
    """Read the train / val / test tiles of ``config`` once; returns splits and provenance."""
    source = open_source(config.source, **config.source_params)
    splits = {}
    for split in ("train", "val", "test"):
        ds = RegionTileDataset(
            source, config.setting, split, config.dim, z_step=config.preset("z_step")
        )
        splits[split] = SplitData(ds.images, ds.labels, ds.z)
    return splits, source.describe()


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 4
) -> dict[str, Any]:
    """Accuracy, per-class accuracy (recall; NaN if absent) and confusion counts (rows = truth)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )
    support = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / np.maximum(support, 1), np.nan)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "per_class_accuracy": per_class.tolist(),
        "confusion": confusion.tolist(),
        "n_test": int(y_true.size),
    }


def mean_std(values: list[float] | np.ndarray) -> dict[str, Any]:
    """Mean and sample std (ddof 1, 0 for one value) over seeds, per column, NaN-aware."""
    arr = np.asarray(values, dtype=np.float64)
    n = arr.shape[0]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(arr, axis=0) if n else np.nan
        std = np.nanstd(arr, axis=0, ddof=1) if n > 1 else np.zeros_like(mean)
    as_plain = (lambda v: v.tolist()) if np.ndim(mean) else float
    return {"mean": as_plain(mean), "std": as_plain(std), "n": int(n)}


class RegionInputs:
    """Resized inputs of every split, in the shapes the protocol scores."""

    def __init__(self, data: dict[str, SplitData], config: Task1Config) -> None:
        size = config.input_size
        self.train_x = resize_tiles(data["train"].images, size)
        self.train_y = data["train"].labels
        crop = config.test_crops == "quadrants"
        for split in ("val", "test"):
            x = resize_tiles(data[split].images, size)
            y = data[split].labels
            if crop:
                x, y = quadrant_crops(x, y)
            setattr(self, f"{split}_x", x)
            setattr(self, f"{split}_y", y)
        # pixel baselines need training inputs of the scored size
        self.train_crops_x, self.train_crops_y = (
            quadrant_crops(self.train_x, self.train_y) if crop else (self.train_x, self.train_y)
        )


def train_supervised(
    config: Task1Config, inputs: RegionInputs, seed: int, spatial_dims: int = 2
) -> tuple[Any, dict[str, Any]]:
    """Train the supervised (or, for ``supervised-mixup``, mixup) region classifier of
    ``config`` on ``inputs``; returns the model and its training history."""
    encoder = create_encoder(config.preset("backbone"), in_channels=1, spatial_dims=spatial_dims)
    settings = SupervisedSettings(
        epochs=config.preset("epochs"),
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        mixup_alpha=config.mixup_alpha if config.method == "supervised-mixup" else 0.0,
        device=config.device,
        quiet=config.quiet,
    )
    return train_classifier(
        encoder,
        len(CLASS_NAMES),
        (inputs.train_x, inputs.train_y),
        (inputs.val_x, inputs.val_y),
        settings,
        seed=seed,
    )


def _run_seed(
    config: Task1Config, inputs: RegionInputs, seed: int, spatial_dims: int
) -> dict[str, Any]:
    torch.manual_seed(seed)
    extra: dict[str, Any] = {}
    method = config.method
    if method in ("supervised", "supervised-mixup"):
        model, history = train_supervised(config, inputs, seed, spatial_dims)
        pred = predict(model, inputs.test_x, device=config.device)
        extra = {"best_epoch": history["best_epoch"], "val_accuracy": max(history["val_accuracy"])}
    else:
        if method in ("pca", "nmf"):
            decomposition = PixelDecomposition(
                method, config.n_components, seed=seed, max_iter=config.preset("nmf_max_iter")
            )
            train_f = decomposition.fit_transform(inputs.train_crops_x.numpy())
            train_y = inputs.train_crops_y
            val_f = decomposition.transform(inputs.val_x.numpy())
            test_f = decomposition.transform(inputs.test_x.numpy())
            extra["n_components"] = decomposition.n_components_
        else:
            encoder, spec = frozen_encoder(config, seed=seed, spatial_dims=spatial_dims)
            norm = {"mean": float(spec.get("mean", 0.0)), "std": float(spec.get("std", 1.0))}
            features = lambda x: extract_features(encoder, x, device=config.device, **norm)
            train_f, train_y = features(inputs.train_x), inputs.train_y
            val_f, test_f = features(inputs.val_x), features(inputs.test_x)
            extra["encoder_input"] = spec
        probe = LinearProbe(Cs=config.probe_cs, seed=seed).fit(
            train_f, train_y, val_f, inputs.val_y
        )
        pred = probe.predict(test_f)
        extra.update(
            C=probe.C_,
            val_accuracy=float(np.nanmax(probe.scores_)) if len(config.probe_cs) > 1 else None,
        )
    return {"seed": seed, **classification_metrics(inputs.test_y, pred, len(CLASS_NAMES)), **extra}


def run_task1(config: Task1Config, data: dict[str, SplitData] | None = None) -> dict[str, Any]:
    """Run task 1 for every seed of ``config``.

    Args:
        config: validated configuration (build with ``from_mapping(Task1Config, {...})``).
        data: splits from :func:`load_task1_data` to reuse across runs (read if None).

    Returns:
        ``{"per_seed": [...], "accuracy": {"mean", "std", "n"}, "per_class_accuracy": {...},
        "confusion": summed counts (rows = truth), "class_names", "n_tiles", "n_test",
        "protocol", "source", "wall_s"}``.
    """
    if not isinstance(config, Task1Config):
        raise ConfigError(f"run_task1: expected a Task1Config, got {type(config).__name__}")
    check_encoder_given(config)
    start = time.perf_counter()
    source_info: dict[str, Any] | None = None
    if data is None:
        data, source_info = load_task1_data(config)
    inputs = RegionInputs(data, config)
    spatial_dims = 3 if config.dim == "3d" else 2
    per_seed = [_run_seed(config, inputs, int(seed), spatial_dims) for seed in config.seeds]
    return {
        "setting": config.setting,
        "method": config.method,
        "dim": config.dim,
        "class_names": list(CLASS_NAMES),
        "per_seed": per_seed,
        "accuracy": mean_std([r["accuracy"] for r in per_seed]),
        "per_class_accuracy": mean_std([r["per_class_accuracy"] for r in per_seed]),
        "confusion": np.sum([r["confusion"] for r in per_seed], axis=0).tolist(),
        "n_tiles": {k: len(v.labels) for k, v in data.items()},
        "n_test": len(inputs.test_y),
        "protocol": {
            "input_size": config.input_size,
            "test_crops": config.test_crops,
            "z_step": config.preset("z_step"),
            "backbone": config.preset("backbone")
            if config.method.startswith("supervised")
            else None,
            "epochs": config.preset("epochs") if config.method.startswith("supervised") else None,
        },
        "source": source_info,
        "config": to_dict(config),
        "wall_s": time.perf_counter() - start,
    }


def task1_config(**values: Any) -> Task1Config:
    """Validated :class:`Task1Config` from keyword values (``None`` values dropped)."""
    return from_mapping(Task1Config, {k: v for k, v in values.items() if v is not None})
