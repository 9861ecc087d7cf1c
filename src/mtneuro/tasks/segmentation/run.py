"""Task 2 end to end: read the tiles, train each seed, evaluate on the test z range, summarise.

:func:`run_task2` is the Python API behind ``mtneuro task2``; it returns plain
numbers (and a few example arrays for the overlays) and writes nothing but
optional training checkpoints.

Protocol (MTNeuro ``task2_*`` configs, see ``docs/protocols.md`` B.2/B.5): tiles
of sub-volume A, train z ``[110, 379)``, test z ``[420, 470)``; 4 classes on
cortex/striatum/thalamus, 3 classes (axons merged into background) on all four
regions; 2D slices or 8-slice 3D blocks, a range's last block aligned to its end
(:func:`~mtneuro.data.tiles.covering_starts`: every test voxel scored once). Config and
presets: :mod:`mtneuro.tasks.segmentation.config`.
"""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mtneuro.config import to_dict
from mtneuro.data.checksums import sha256_file
from mtneuro.data.datasets import SegmentationTileDataset
from mtneuro.data.sources import open_source
from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import REGION_ABBREVIATIONS, REGIONS, segmentation_setting
from mtneuro.devices import resolve_device, with_run_device
from mtneuro.errors import ConfigError
from mtneuro.models.segmentation import create_segmentation_model, model_dim
from mtneuro.stats import (
    confusion_intervals,
    first_seed_intervals,
    interval_by_name,
    mean_interval,
    mean_std,
)
from mtneuro.tasks.api import Result
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import Task2Config, block_depth, check_task2
from mtneuro.tasks.segmentation.finished_run import check_finished_run
from mtneuro.tasks.segmentation.inference import evaluate_tiles
from mtneuro.tasks.segmentation.metrics import per_image_confusion, per_image_iou_scores
from mtneuro.tasks.segmentation.resume_seeds import SEEDS_KEY, check_resume_seeds, seed_checkpoint
from mtneuro.tasks.segmentation.train import train_segmentation
from mtneuro.vocab import IMAGENET


def _summary(per_seed: list[dict], class_names: tuple[str, ...]) -> dict[str, Any]:
    """Mean +- std over seeds of the averages and of every per-class score (undefined
    scores of a seed, e.g. the IoU of a class absent from the test set, left out)."""
    out: dict[str, Any] = {}
    for key in ("avg_f1", "avg_iou", "avg_iou_pooled", "balanced_accuracy", "pixel_accuracy"):
        out[key] = mean_std([s["scores"][key] for s in per_seed])
    for key in ("f1", "iou", "iou_pooled", "recall"):
        out[key] = {c: mean_std([s["scores"][key][c] for s in per_seed]) for c in class_names}
    return out


def image_intervals(predictions: np.ndarray, masks: np.ndarray,
                    class_names: tuple[str, ...],
                    scored: np.ndarray | None = None, unit: str = "test images"
                    ) -> dict[str, Any]:
    """Bootstrap 95% intervals over test images (3D: blocks, ``unit``) of ``avg_f1``,
    ``avg_iou`` and the per-class ``f1`` and ``iou`` (:mod:`mtneuro.stats`), from each
    image's pixel confusion matrix (of its ``scored`` voxels,
    :func:`~mtneuro.tasks.segmentation.metrics.per_image_confusion`).
    """
    confusions = per_image_confusion(predictions, masks, len(class_names), scored)
    f1 = confusion_intervals(confusions, unit=unit)
    iou_per_image = per_image_iou_scores(confusions)
    iou = mean_interval(iou_per_image, unit=unit)
    return {"avg_f1": f1["avg_f1"], "f1": interval_by_name(f1["f1"], class_names),
            "avg_iou": mean_interval(iou_per_image.mean(axis=1), unit=unit),
            "iou": interval_by_name(iou, class_names)}


def image_rows(seed: int, predictions: np.ndarray, masks: np.ndarray, scored: np.ndarray | None,
               z: np.ndarray, region: np.ndarray, class_names: tuple[str, ...]
               ) -> dict[str, np.ndarray]:
    """Each test image's (3D: block's) rows of ``predictions.csv`` for one seed
    (:mod:`mtneuro.report.predictions`): ``seed``, ``image`` (index in the test split),
    ``z`` (its first slice), ``region``, ``iou_<class>``, the IoU of its scored pixels
    (1.0 for a class in neither its truth nor its prediction, as published): the mean of a
    class's column is the run's per-class ``iou``; and ``pixels_<true>_as_<predicted>``,
    its scored pixels of each (true, predicted) class pair, whose sums give the pooled F1."""
    confusions = per_image_confusion(predictions, masks, len(class_names), scored)
    iou = per_image_iou_scores(confusions)
    columns = {"seed": np.full(len(iou), seed, dtype=np.int64), "image": np.arange(len(iou)),
               "z": np.asarray(z), "region": np.asarray(REGION_ABBREVIATIONS)[region]}
    # the pooled F1 of a resample of images is a function of their summed counts (compare)
    counts = {f"pixels_{true}_as_{predicted}": confusions[:, i, j]
              for i, true in enumerate(class_names) for j, predicted in enumerate(class_names)}
    return columns | {f"iou_{name}": iou[:, j] for j, name in enumerate(class_names)} | counts


def encoder_weights_fingerprint(weights: str | None) -> dict[str, Any]:
    """How the smp encoder started, for the resume check: ``{}`` for random initialisation
    (so checkpoints written before this entry existed still resume), ``imagenet``, or a local
    file's path and SHA-256 (the same path may hold other weights by the time of ``--resume``).
    """
    if weights is None:
        return {}
    if weights == IMAGENET or not Path(weights).is_file():
        return {"encoder_weights": {"value": weights}}
    return {"encoder_weights": {"value": weights, "sha256": sha256_file(weights)}}


def _blocks_record(depth: int, train: Any, test: Any, scored: np.ndarray | None) -> dict:
    """How a 3D run's z ranges were cut (:func:`~mtneuro.data.tiles.covering_starts`): block
    depth, blocks aligned to a range end, and the test voxels scored (each once)."""
    voxels = int(test.masks.size if scored is None else np.count_nonzero(scored))
    return {"depth": depth, "end_blocks": {"train": train.end_blocks, "test": test.end_blocks},
            "test_voxels_scored": voxels}


def _example_indices(region: np.ndarray, per_region: int,
                     shown_scored: np.ndarray | None = None) -> np.ndarray:
    """Evenly spaced test tiles of each region (first, middle, ...), among those whose
    shown slice is scored (``shown_scored``; default all): an overlay of an end block's
    middle slice would show a prediction the scores took from the block before it."""
    picks = []
    for r in np.unique(region):
        where = np.flatnonzero(region == r)
        if shown_scored is not None and shown_scored[where].any():
            where = where[shown_scored[where]]
        take = np.linspace(0, len(where) - 1, num=min(per_region, len(where))).round().astype(int)
        picks.extend(where[np.unique(take)].tolist())
    return np.asarray(picks, dtype=np.int64)


def run_task2(
    config: Task2Config,
    *,
    source: VolumeSource | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    quiet: bool | None = None,
    encoder: nn.Module | None = None,
) -> dict[str, Any]:
    """Train and evaluate ``config.model`` once per seed.

    Args:
        config: the experiment.
        source: an opened volume source (default: opened from ``config.source`` and
            ``config.source_params``).
        checkpoint_dir: where ``seed<N>.pt`` training checkpoints go (``None``: none).
        resume: continue the run whose checkpoints ``checkpoint_dir`` holds, with the seeds
            it was started with (:func:`check_resume_seeds`; a seed without a checkpoint
            starts afresh).
        quiet: no progress bars (default: ``config.quiet``).
        encoder: an ``ssl-unet`` encoder in memory (each seed fine-tunes its own copy;
            ``config.encoder`` then only names it).

    Returns:
        ``{"metrics": {"setting", "per_seed", "summary", ...}, "examples": {...},
        "predictions": {...}, "source": {...}}``;
        ``metrics`` is plain data for ``metrics.json`` (per-seed scores and mean +- std
        over seeds); ``examples`` holds uint8 arrays ``image`` (K, [D,] H, W),
        ``truth`` and ``prediction`` (K, [D,] H, W), int ``region`` (K,) and ``z`` (K, the
        volume z of each tile or block's first slice) of the first seed for the overlays;
        ``predictions`` every seed's per-image IoU (:func:`image_rows`); ``source`` the
        volume source's ``describe()``.

    Raises:
        ConfigError: ``resume`` with seeds other than those of the run whose checkpoints
            ``checkpoint_dir`` holds (before the source is opened).
    """
    # Configs built as dataclasses skip the task's complete step: check them here too.
    check_task2(config)
    dim = config.dim or model_dim(config.model)
    if dim != model_dim(config.model):
        create_segmentation_model(
            config.model, config.classes, dim
        )  # raises, naming the valid models
    quiet = config.quiet if quiet is None else quiet
    create_kwargs = {
        "encoder": config.encoder,
        "encoder_name": config.encoder_name,
        "encoder_weights": config.encoder_weights,
    }
    if config.model != "ssl-unet" and encoder is not None:  # in memory: no config field
        raise ConfigError(f"--encoder applies to model 'ssl-unet', not {config.model!r}")
    if config.model == "ssl-unet" and config.encoder is None and encoder is None:
        # runs (the decoder's baseline), but a user who forgot --encoder must not read it as SSL
        warnings.warn("ssl-unet without an encoder: its ResNet-18 starts from random weights; "
                      "give --encoder (a `mtneuro pretrain` checkpoint) to fine-tune an SSL "
                      "encoder", stacklevel=2)
    # checkpoints of a run with other seeds are refused before the tiles are read
    unrecorded = (check_resume_seeds(checkpoint_dir, config.seeds)
                  if resume and checkpoint_dir else set())
    setting = segmentation_setting(config.classes)
    device = resolve_device(config.device)
    source = source if source is not None else open_source(config.source, **config.source_params)
    started = time.perf_counter()
    depth = block_depth(config)
    train_set, test_set = (
        SegmentationTileDataset(source, config.classes, split, dim, z_step=step, depth=depth,
                                progress=not quiet)
        for split, step in (("train", config.train_z_step), ("test", config.test_z_step)))
    # Training sees an end block whole; scoring counts its slices the block before it has not.
    train_images, train_masks = train_set.images, train_set.masks
    test_images, test_masks, scored = test_set.images, test_set.masks, test_set.scored()
    read_s = time.perf_counter() - started
    crop = config.train.crop
    side = config.window or crop
    window = (side, side) if dim == "2d" else (depth, side, side)

    per_seed, examples, rows = [], {}, []
    for seed in config.seeds:
        torch.manual_seed(seed)
        if encoder is not None:
            create_kwargs["encoder"] = copy.deepcopy(encoder)
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
            checkpoint=seed_checkpoint(checkpoint_dir, seed) if checkpoint_dir else None,
            resume=resume,
            quiet=quiet,
            fingerprint={
                "model": config.model,
                "classes": config.classes,
                "dim": dim,
                "seed": seed,
                # an older checkpoint without them resumes under the record it was saved with
                **({SEEDS_KEY: list(config.seeds)} if seed not in unrecorded else {}),
                "source": source.describe(),
                "train_z_step": config.train_z_step,
                # 3D: the blocks trained on (depth, end blocks since task2 protocol 3d v2)
                **({"blocks": {"depth": depth, "end_blocks": train_set.end_blocks}}
                   if dim == "3d" else {}),
                "encoder": config.encoder,
                "encoder_name": config.encoder_name,
                **encoder_weights_fingerprint(config.encoder_weights),
                # ssl-unet's encoder checkpoint: the path may hold other weights on --resume
                **({"encoder_sha256": sha256_file(config.encoder)}
                   if config.encoder is not None and Path(config.encoder).is_file() else {}),
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
            scored=scored,
            progress=not quiet,
        )
        t2 = time.perf_counter()
        rows.append(image_rows(seed, predictions, test_masks, scored, test_set.z,
                               test_set.region, setting.class_names))
        per_seed.append(
            {
                "seed": seed,
                "scores": scores,
                "intervals": image_intervals(
                    predictions, test_masks, setting.class_names, scored,
                    unit="test images" if dim == "2d" else f"test blocks of {depth} slices"),
                "train": history,
                "train_s": t1 - t0,
                "eval_s": t2 - t1,
            }
        )
        if not examples:
            # the overlays show a block's middle slice (report.plots_segmentation)
            pick = _example_indices(test_set.region, config.examples_per_region,
                                    test_set.scored_from <= depth // 2)
            examples = {
                "image": test_images[pick, 0],
                "truth": test_masks[pick].astype(np.uint8),
                "prediction": predictions[pick],
                "region": test_set.region[pick],
                "z": test_set.z[pick],
                "region_names": REGIONS,
                "class_names": setting.class_names,
            }
        del model

    summary = _summary(per_seed, setting.class_names)
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
        **({"blocks": _blocks_record(depth, train_set, test_set, scored)} if dim == "3d" else {}),
        "per_seed": per_seed,
        "summary": summary,
        "intervals": first_seed_intervals(per_seed, summary["avg_f1"], summary["avg_iou"]),
    }
    return {
        "metrics": metrics,
        "examples": examples,
        "predictions": {key: np.concatenate([r[key] for r in rows]) for key in rows[0]},
        "config": to_dict(config),
        "source": source.describe(),
    }


def run(config: Task2Config, *, encoder: nn.Module | None = None,
        workdir: str | Path | None = None, resume: bool = False) -> Result:
    """The task contract (:mod:`mtneuro.tasks.api`): :func:`run_task2` as a :class:`Result`
    (training checkpoints in ``workdir/checkpoints``; overlay examples as an artefact). A
    resume of the finished run in ``workdir`` with other settings is refused
    (:func:`check_finished_run`) before any tile is read."""
    from mtneuro.tasks.segmentation.task import TASK2

    started = time.perf_counter()
    config = with_run_device(config)  # its record names the device it ran on, not "auto"
    if resume and workdir is not None:
        check_finished_run(config, Path(workdir))
    checkpoints = Path(workdir) / "checkpoints" if workdir is not None else None
    out = run_task2(config, checkpoint_dir=checkpoints, resume=resume, encoder=encoder)
    metrics = out["metrics"]
    setting = f"{metrics['setting']['dim']}-{config.classes}class"
    from mtneuro.tasks.segmentation.protocol import undefined_f1

    return TASK2.result(config, setting=setting, method=config.model, metrics=metrics,
                        source=out["source"], wall_s=time.perf_counter() - started,
                        artefacts={"examples": out["examples"],
                                   "predictions": out["predictions"]},
                        deviations=undefined_f1(metrics["per_seed"]))
