"""MTNeuro task 1: brain-region classification (CTX / STR / VP / ZI) of X-ray tiles.

Tiles of the setting's train / val / test sub-volumes and slices (ROI-C1/C2/C3,
:data:`mtneuro.data.spec.REGION_SETTINGS`) are classified by one of the methods:

* ``supervised`` / ``supervised-mixup``: ResNet-18 (1 channel) + linear head trained
  end to end (:mod:`mtneuro.tasks.supervised`);
* ``byol`` / ``myow`` / ``myow-merged`` / ``encoder``: a frozen encoder
  (:mod:`mtneuro.tasks.encoders`) with a linear head;
* ``pca`` / ``nmf``: 256 components of flattened pixels (:mod:`mtneuro.tasks.baselines`)
  with a logistic-regression readout (:class:`~mtneuro.tasks.probe.LinearProbe`).

What each method trains and tests on is its protocol's
(:mod:`mtneuro.tasks.region_protocol`): ``paper``, the released MTNeuro scripts (whole
256 x 256 tiles for the supervised classifier; for the probe head, as the released trainer
ran it, whole un-normalised tiles with the encoder's BatchNorm in training mode, tested on
the four 128 x 128 corner crops), or ``resized`` (tiles resized to 64,
tested on 32 x 32 quadrant crops: the default of the ``quick`` preset, which also
subsamples slices (``z_step`` 8) and uses ``resnet-tiny`` and few epochs). Every seed
re-initialises and re-trains; data are read once.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from mtneuro.config import to_dict
from mtneuro.data.spec import REGION_ABBREVIATIONS
from mtneuro.devices import checked_run_config
from mtneuro.models import create_encoder
from mtneuro.models.checkpoint import input_normalisation
from mtneuro.stats import classification_intervals, first_seed_intervals, mean_std
from mtneuro.tasks.api import Result
from mtneuro.tasks.encoders import FrozenEncoders, check_encoder_given, frozen_encoders
from mtneuro.tasks.majority import REGION_LEAD, baseline_text, majority_class
from mtneuro.tasks.probe import extract_features
from mtneuro.tasks.region_config import Task1Config
from mtneuro.tasks.region_head import HeadSettings, predict_with_head, train_linear_head
from mtneuro.tasks.region_inputs import RegionInputs, task1_input_shapes
from mtneuro.tasks.region_protocol import RegionRecipe, resolve_recipe
from mtneuro.tasks.scores import classification_metrics
from mtneuro.tasks.supervised import SupervisedSettings, predict, train_classifier
from mtneuro.tasks.tile_inputs import CROP_NAMES
from mtneuro.tasks.volume import SplitData, load_region_splits

if TYPE_CHECKING:
    from mtneuro.tasks.probe_estimators import LinearProbe

CLASS_NAMES = REGION_ABBREVIATIONS


def majority_baseline(train_y: np.ndarray, test_y: np.ndarray) -> dict[str, Any]:
    """The chance reference of the scores: always predicting the most frequent region of
    the training labels (ties: the smallest label) on the scored test images, scored as
    the methods are (:func:`~mtneuro.tasks.scores.classification_metrics`).

    Returns:
        ``{"class": region name, "accuracy": ...}``: the headline score of task 1
        (:func:`mtneuro.tasks.region_task.headline`).
    """
    chosen = majority_class(train_y)
    guess = np.full(len(test_y), chosen)
    scores = classification_metrics(test_y, guess, len(CLASS_NAMES))
    return {"class": CLASS_NAMES[chosen], "accuracy": scores["accuracy"]}


def majority_text(baseline: dict[str, Any]) -> str:
    """``always the most common training region (CTX): accuracy 0.250``."""
    return baseline_text(REGION_LEAD, baseline)


def train_supervised(
    config: Task1Config, inputs: RegionInputs, seed: int, spatial_dims: int = 2
) -> tuple[Any, dict[str, Any]]:
    """Train the supervised (or, for ``supervised-mixup``, mixup) region classifier of
    ``config`` on ``inputs``, with its recipe's settings; returns the model and history."""
    recipe = resolve_recipe(config)
    encoder = create_encoder(config.preset("backbone"), in_channels=1, spatial_dims=spatial_dims)
    from_recipe = ("epochs", "batch_size", "lr", "momentum", "schedule", "weight_decay", "augment",
                   "normalise", "select_best", "recalibrate_bn")
    settings = SupervisedSettings(
        **{key: getattr(recipe, key) for key in from_recipe},
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


def _pixel_readout(config: Task1Config, inputs: RegionInputs, seed: int) -> tuple[Any, dict]:
    """PCA / NMF components of the training crops, then a logistic-regression probe."""
    # here, not at the top: scikit-learn costs a second to import, and only these readouts use it
    from mtneuro.tasks.baselines import PixelDecomposition
    from mtneuro.tasks.probe_estimators import LinearProbe

    decomposition = PixelDecomposition(
        config.method, config.n_components, seed=seed, max_iter=config.preset("nmf_max_iter")
    )
    train_f = decomposition.fit_transform(inputs.train_crops_x.numpy())
    probe = LinearProbe(Cs=config.probe_cs, seed=seed).fit(
        train_f, inputs.train_crops_y, decomposition.transform(inputs.val_x.numpy()), inputs.val_y
    )
    pred = probe.predict(decomposition.transform(inputs.test_x.numpy()))
    return pred, {"n_components": decomposition.n_components_, **_probe_info(config, probe)}


def _probe_info(config: Task1Config, probe: LinearProbe) -> dict[str, Any]:
    return {"C": probe.C_,
            "val_accuracy": float(np.nanmax(probe.scores_)) if len(config.probe_cs) > 1 else None}


def _encoder_readout(config: Task1Config, recipe: RegionRecipe, inputs: RegionInputs, seed: int,
                     frozen: FrozenEncoders) -> tuple[Any, dict]:
    """A frozen encoder with the recipe's head: logistic regression, or a linear layer
    trained as ``task1_ssl.py`` (:mod:`mtneuro.tasks.region_head`)."""
    encoder, spec = frozen(seed)
    norm = input_normalisation(spec)
    extra: dict[str, Any] = {"encoder_input": spec}
    if recipe.head == "logistic":
        from mtneuro.tasks.probe_estimators import LinearProbe

        def features(split: str) -> np.ndarray:
            images = getattr(inputs, f"{split}_x")
            return frozen.features(encoder, split, lambda: extract_features(
                encoder, images, device=config.device, what=f"encoding {split} images",
                quiet=config.quiet, **norm))

        probe = LinearProbe(Cs=config.probe_cs, seed=seed).fit(
            features("train"), inputs.train_y, features("val"), inputs.val_y
        )
        return probe.predict(features("test")), {**extra, **_probe_info(config, probe)}
    as_released = recipe.head_inputs == "as-released"
    settings = HeadSettings(
        optimizer=recipe.head, lr=recipe.lr, epochs=recipe.epochs, batch_size=recipe.batch_size,
        crop=recipe.crop if recipe.train_input == "random-crops" else None,
        normalise=recipe.normalise, encoder_train_mode=as_released, device=config.device,
        quiet=config.quiet,
    )
    head = train_linear_head(encoder, len(CLASS_NAMES), inputs.train_x, inputs.train_y, settings,
                             seed=seed, **norm)
    return predict_with_head(encoder, head, inputs.test_x, settings, **norm), extra


def _run_seed(config: Task1Config, recipe: RegionRecipe, inputs: RegionInputs, seed: int,
              spatial_dims: int, frozen: FrozenEncoders) -> tuple[dict[str, Any], np.ndarray]:
    """(the seed's metrics row, its predicted region of every scored test image)."""
    torch.manual_seed(seed)
    method = config.method
    if method in ("supervised", "supervised-mixup"):
        model, history = train_supervised(config, inputs, seed, spatial_dims)
        pred = predict(model, inputs.test_x, device=config.device)
        extra = {"best_epoch": history["best_epoch"], "val_accuracy": history["val_accuracy"][
            history["best_epoch"] - 1] if history["best_epoch"] else None}
    elif method in ("pca", "nmf"):
        pred, extra = _pixel_readout(config, inputs, seed)
    else:
        pred, extra = _encoder_readout(config, recipe, inputs, seed, frozen)
    if len(np.unique(pred)) == 1 and len(np.unique(inputs.test_y)) > 1:
        warnings.warn(f"{method}, seed {seed}: every test image was predicted as "
                      f"{CLASS_NAMES[int(pred[0])]}; the readout found nothing in these "
                      "inputs that tells the regions apart (accuracy is the share of that class)",
                      UserWarning, stacklevel=2)
    unit = "test tiles" if config.dim == "2d" else "test blocks of 8 slices"  # as task 2 says
    intervals = classification_intervals(inputs.test_y, pred, len(CLASS_NAMES), unit=unit,
                                         groups=inputs.test_tile)
    return {"seed": seed, **classification_metrics(inputs.test_y, pred, len(CLASS_NAMES)), **extra,
            "intervals": {k: intervals[k] for k in ("accuracy", "per_class_accuracy")}}, pred


def prediction_columns(seeds: list[int], preds: list[np.ndarray], inputs: RegionInputs,
                       test: SplitData) -> dict[str, np.ndarray]:
    """Every scored test image's row of ``predictions.csv`` for each seed
    (:mod:`mtneuro.report.predictions`): ``seed``, ``tile`` (index in the test split),
    ``z`` (its first slice), ``crop`` (``whole`` or which quadrant / corner), ``true`` and
    ``predicted`` region; the mean of ``true == predicted`` over a seed's rows is its
    accuracy."""
    names = np.asarray(CLASS_NAMES)
    per_tile = len(inputs.test_tile) // max(len(test.labels), 1)
    crop = np.asarray(CROP_NAMES if per_tile == 4 else ("whole",))[
        np.arange(len(inputs.test_tile)) % per_tile]
    n = len(inputs.test_y)
    return {"seed": np.repeat(np.asarray(seeds, dtype=np.int64), n),
            "tile": np.tile(inputs.test_tile, len(seeds)),
            "z": np.tile(test.z[inputs.test_tile], len(seeds)),
            "crop": np.tile(crop, len(seeds)), "true": np.tile(names[inputs.test_y], len(seeds)),
            "predicted": names[np.concatenate([np.asarray(p, dtype=np.int64) for p in preds])]}


def run_task1(config: Task1Config, data: dict[str, SplitData] | None = None, *,
              encoder: nn.Module | None = None) -> dict[str, Any]:
    """Run task 1 for every seed of ``config``.

    Args:
        config: validated configuration (build with ``TASK1.make_config`` of
            :mod:`mtneuro.tasks.region_task`).
        data: splits of :func:`~mtneuro.tasks.volume.load_region_splits` to reuse across
            runs (read if None).
        encoder: an encoder in memory for method ``encoder`` (``config.encoder`` then only
            names it), mapping ``(N, 1, H, W)`` in [0, 1] to ``(N, D)``.

    Returns:
        ``{"per_seed": [...], "accuracy": {"mean", "std", "n"}, "per_class_accuracy": {...},
        "intervals": bootstrap 95% intervals over test tiles of the first seed, when seeds
        do not vary the results (else None; each seed's row has its own),
        "confusion": summed counts (rows = truth), "class_names", "n_tiles", "n_test"
        (scored images: tiles or crops), "majority" (the chance reference,
        :func:`majority_baseline`), "recipe" (the resolved protocol), "source",
        "predictions" (each scored test image's truth and prediction per seed,
        :func:`prediction_columns`), "wall_s"}``.
    """
    return _run_on_device(checked_run_config(config, Task1Config, "run_task1"), data, encoder)


def _run_on_device(config: Task1Config, data: dict[str, SplitData] | None,
                   encoder: nn.Module | None) -> dict[str, Any]:
    """:func:`run_task1` of a config from :func:`~mtneuro.devices.checked_run_config`."""
    check_encoder_given(config, encoder)
    recipe = resolve_recipe(config)
    start = time.perf_counter()
    source_info: dict[str, Any] | None = None
    if data is None:
        data, source_info = load_region_splits(config.source, config.source_params,
                                               config.setting, config.dim, config.preset("z_step"))
    inputs = RegionInputs(data, recipe)
    spatial_dims = 3 if config.dim == "3d" else 2
    shapes = task1_input_shapes(config, tile=data["train"].images.shape[-1])
    frozen = frozen_encoders(config, spatial_dims, encoder=encoder, train=data["train"],
                             input_shapes=shapes)
    runs = [_run_seed(config, recipe, inputs, int(seed), spatial_dims, frozen)
            for seed in config.seeds]
    per_seed = [row for row, _ in runs]
    accuracy = mean_std([r["accuracy"] for r in per_seed])
    per_class = mean_std([r["per_class_accuracy"] for r in per_seed])
    return {
        "setting": config.setting,
        "method": config.method,
        "dim": config.dim,
        "class_names": list(CLASS_NAMES),
        "per_seed": per_seed,
        "accuracy": accuracy,
        "per_class_accuracy": per_class,
        "intervals": first_seed_intervals(per_seed, accuracy, per_class),
        "confusion": np.sum([r["confusion"] for r in per_seed], axis=0).tolist(),
        "n_tiles": {k: len(v.labels) for k, v in data.items()},
        "n_test": len(inputs.test_y),
        # one for every seed: the split, not the seed, decides it
        "majority": majority_baseline(inputs.train_y, inputs.test_y),
        "recipe": {
            **recipe.to_dict(),
            "z_step": config.preset("z_step"),
            "backbone": (config.preset("backbone") if config.method.startswith("supervised")
                         else None),
        },
        "source": source_info,
        "config": to_dict(config),
        "predictions": prediction_columns([int(s) for s in config.seeds],
                                          [pred for _, pred in runs], inputs, data["test"]),
        "wall_s": time.perf_counter() - start,
    }


def run(config: Task1Config, *, encoder: nn.Module | None = None) -> Result:
    """The task contract (:mod:`mtneuro.tasks.api`): :func:`run_task1` as a :class:`Result`."""
    from mtneuro.tasks.protocol import components_used
    from mtneuro.tasks.region_task import TASK1

    # the Result's config too names the device that ran
    config = checked_run_config(config, Task1Config, "run_task1")
    out = _run_on_device(config, None, encoder)
    return TASK1.from_run(config, out, artefacts=("predictions",),
                          deviations=components_used(config.n_components, out["per_seed"]))
