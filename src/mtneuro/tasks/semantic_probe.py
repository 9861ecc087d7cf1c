"""MTNeuro task 3: linear readout of semantic microstructure features from frozen embeddings.

Data (``taskconfig/task3.json``): sub-volume A of the four regions, slices
[110, 470); every 256 x 256 tile gives four 128 x 128 quadrant crops with the
features of :func:`mtneuro.tasks.semantic.semantic_features` (cells labelled over the
regions' stacks concatenated, as the reference does, in crop order) and one embedding each:

* encoders (``supervised``, ``supervised-mixup``, ``byol``, ``myow``, ``myow-merged``,
  ``encoder``): tile resized to 64 x 64, its 32 x 32 quadrant crops embedded (the
  reference ``get_latents``); supervised encoders are trained on task 1 of
  ``setting`` (ROI-C1: one sub-volume, ROI-C3: two), SSL ones pre-trained or loaded as
  in task 1;
* ``pca`` / ``nmf``: tile resized to 128 x 128, 64 x 64 quadrant crops flattened,
  256 components (the reference ``get_unsup_latents``), fitted on the training crops;
  the quick preset keeps 32 (see :data:`mtneuro.tasks.semantic_config.QUICK_TASK3`).

Scores, per feature:

* ``r2_test`` (ours, in the headline as ``r2_test_<feature>``): ridge regression
  (:class:`~mtneuro.tasks.probe.RidgeProbe`, alpha per feature by 5-fold CV over contiguous
  z blocks of the training tiles) fitted on the training slices [110, 379) and scored on the
  held-out test slices [420, 470) (the task z splits);
* ``r2_in_sample_reference`` (the headline ``r2_<feature>``, beside the published
  column): the released script's number: ``LinearRegression().fit(X, y).score(X, y)`` on
  all crops (in-sample, optimistic; for PCA / NMF the components come from the
  training-crop fit).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LinearRegression
from torch import nn

from mtneuro.config import to_dict
from mtneuro.data.sources import open_source
from mtneuro.data.spec import REGION_ABBREVIATIONS, REGIONS, SUBVOLUME_A, SUBVOLUME_Z, Z_SPLITS
from mtneuro.data.tiles import block_starts, read_block_channels
from mtneuro.devices import checked_run_config
from mtneuro.errors import ConfigError
from mtneuro.models.checkpoint import input_normalisation
from mtneuro.stats import first_seed_intervals, interval_by_name, mean_std, r2_interval
from mtneuro.tasks.api import Result
from mtneuro.tasks.baselines import PixelDecomposition
from mtneuro.tasks.encoder_inputs import READS_ENCODER, Shape
from mtneuro.tasks.encoders import FrozenEncoders, check_encoder_given, frozen_encoders
from mtneuro.tasks.probe import RidgeProbe, extract_features, r2_scores
from mtneuro.tasks.protocol import thinned_3d_components, trains_on_setting
from mtneuro.tasks.semantic import feature_matrix, feature_names, semantic_features
from mtneuro.tasks.semantic_config import Task3Config
from mtneuro.tasks.supervised import train_supervised_encoder
from mtneuro.tasks.tile_inputs import CROP_NAMES, quadrant_crops, resize_tiles
from mtneuro.tasks.volume import FULL, QUICK, SplitData, load_region_splits
from mtneuro.vocab import PIXEL_METHODS, SUPERVISED_METHODS, XRAY_MEAN, XRAY_STD


@dataclass
class Task3Data:
    """Tiles ``(N, 1, 256, 256)`` uint8, their slice ``z`` ``(N,)``, region ``(N,)`` and
    per-crop features ``(4N, 5)`` (crop ``4i + q`` is quadrant q of tile i)."""

    images: np.ndarray
    z: np.ndarray
    region: np.ndarray
    features: np.ndarray
    connectivity: str


def load_task3_data(config: Task3Config) -> tuple[Task3Data, dict[str, Any]]:
    """Read sub-volume A of every region and compute the crop features (cells labelled in the
    regions' stacks concatenated as the reference does, or per region for the corrected
    features)."""
    source = open_source(config.source, **config.source_params)
    if "pixel_labels" not in source.channels:
        raise ConfigError(f"source {config.source!r} has no pixel_labels; task 3 needs them")
    if source.shape[0] < SUBVOLUME_Z.stop:
        raise ConfigError(
            f"source {config.source!r} has {source.shape[0]} slices; task 3 needs z 110..470"
        )
    z_step = config.preset("z_step")
    connectivity = config.connectivity or ("3d" if z_step == 1 else "2d")
    starts = block_starts(SUBVOLUME_Z, 1, z_step)
    images, labels, zs, regions = [], [], [], []
    for index, region in enumerate(REGIONS):
        read = read_block_channels(source, ("image", "pixel_labels"), SUBVOLUME_A[region],
                                   starts, 1)
        images.append(read["image"])
        labels.append(read["pixel_labels"][:, 0])
        zs.append(starts)
        regions.append(np.full(len(starts), index))
    # The reference labels cells in the four regions' stacks concatenated along z
    # (scripts/task3_main.py:61-76), so a cell in one region's first slice can join one in
    # the previous region's last; the corrected features label each region on its own.
    stacks = [np.concatenate(labels)] if config.reference_features else labels
    features = [
        feature_matrix(semantic_features(  # columns in FEATURE_NAMES order
            stack,
            128,
            connectivity,
            reference_distance=config.reference_features,
            reference_cell_size=config.reference_features,
            few_cells_distance=config.few_cells_distance,
        ))
        for stack in stacks
    ]
    data = Task3Data(
        np.concatenate(images),
        np.concatenate(zs),
        np.concatenate(regions),
        np.concatenate(features),
        connectivity,
    )
    return data, source.describe()


def _split_masks(z: np.ndarray) -> dict[str, np.ndarray]:
    return {name: (z >= r.start) & (z < r.stop) for name, r in Z_SPLITS.items()}


def _embed(config: Task3Config, data: Task3Data, seed: int, train_tiles: np.ndarray,
           region_splits: dict[str, SplitData] | None, frozen: FrozenEncoders,
           fitted: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Embeddings ``(4N, D)`` of every crop for ``config.method`` and ``seed`` (``fitted``:
    the run's pixel decomposition where no seed changes it)."""
    method, info = config.method, {}
    if method in PIXEL_METHODS:
        return _pixel_embedding(config, data, seed, train_tiles, fitted)
    crops, _ = quadrant_crops(resize_tiles(data.images, config.input_size))
    if method in SUPERVISED_METHODS:
        encoder, info["task1_val_accuracy"] = train_supervised_encoder(
            region_splits,
            method=method,
            backbone=config.preset("backbone"),
            input_size=config.input_size,
            quick=config.quick,
            seed=seed,
            device=config.device,
            quiet=config.quiet,
        )
        return extract_features(
            encoder, crops, device=config.device, mean=XRAY_MEAN, std=XRAY_STD,
            what="encoding crops", quiet=config.quiet,
        ), info
    encoder, spec = frozen(seed)
    info["encoder_input"] = spec
    return frozen.features(encoder, "crops", lambda: extract_features(
        encoder, crops, device=config.device, what="encoding crops", quiet=config.quiet,
        **input_normalisation(spec))), info


def _pixel_embedding(config: Task3Config, data: Task3Data, seed: int, train_tiles: np.ndarray,
                     fitted: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """PCA / NMF codes of every crop, fitted on the training crops; fitted once for every
    seed where the seed changes nothing (:meth:`PixelDecomposition.uses_seed`: PCA by an
    exact SVD), so further seeds reuse the first one's codes."""
    if "codes" in fitted:
        return fitted["codes"]
    crops, _ = quadrant_crops(resize_tiles(data.images, config.pixel_input_size))
    crops = crops.numpy()
    decomposition = PixelDecomposition(config.method, config.preset("n_components"), seed=seed,
                                       max_iter=config.preset("nmf_max_iter"))
    train = crops[np.repeat(train_tiles, 4)]
    decomposition.fit(train)
    codes = decomposition.transform(crops), {"n_components": decomposition.n_components_}
    if not decomposition.uses_seed(len(train), int(np.prod(train.shape[1:]))):
        fitted["codes"] = codes
    return codes


def task3_input_shapes(config: Any) -> tuple[Shape, ...]:
    """The shape a task-3 ``config`` feeds its frozen encoder: quadrant crops of tiles
    resized to ``input_size`` (none for a method that reads no encoder)."""
    if config.method not in READS_ENCODER:
        return ()
    side = config.input_size // 2
    return ((1, side, side),)


def in_sample_chance(dims: int, n: int) -> float:
    """The in-sample R² a least-squares fit of ``dims`` features (and an intercept) on ``n``
    samples reaches on a target they say nothing about, in expectation: ``dims / (n - 1)``
    (at most 1). The published task-3 column is such a fit; near this value it measures the
    embedding's size, not what it knows."""
    return float(min(1.0, dims / max(n - 1, 1)))


def _scores(embeddings: np.ndarray, data: Task3Data, config: Task3Config) -> dict[str, Any]:
    masks = _split_masks(np.repeat(data.z, 4))
    train, test = masks["train"], masks["test"]
    names = feature_names(config.reference_features)
    y = data.features
    probe = RidgeProbe(alphas=config.alphas, cv=config.cv).fit(
        embeddings[train], y[train], groups=np.repeat(data.z, 4)[train]
    )
    pred = probe.predict(embeddings[test])
    in_sample = [
        LinearRegression().fit(embeddings, y[:, j]).score(embeddings, y[:, j])
        for j in range(y.shape[1])
    ]
    tile = np.arange(len(y)) // 4  # crops are tile-major (np.repeat above): resample tiles
    interval = r2_interval(y[test], pred, unit="test tiles (4 crops each)", groups=tile[test])
    return {
        "r2_test": dict(zip(names, r2_scores(y[test], pred).tolist())),
        "intervals": {"r2_test": interval_by_name(interval, names)},
        "r2_in_sample_reference": dict(zip(names, map(float, in_sample))),
        "r2_in_sample_chance": in_sample_chance(embeddings.shape[1], len(y)),
        "alpha": dict(zip(names, probe.alpha_.tolist())),
        "_pred": pred,  # the test crops' predictions, taken out by the caller
    }


def run_task3(config: Task3Config, data: Task3Data | None = None,
              region_splits: dict[str, SplitData] | None = None, *,
              encoder: nn.Module | None = None) -> dict[str, Any]:
    """Run task 3 for every seed.

    Args:
        config: validated :class:`Task3Config` (build with ``TASK3.make_config`` of
            :mod:`mtneuro.tasks.semantic_task`).
        data: from :func:`load_task3_data` (read if None).
        region_splits: train / val tiles of task-1 setting ``config.setting``, which the
            supervised encoders are trained on (read if needed and None).
        encoder: an encoder in memory for method ``encoder`` (``config.encoder`` then only
            names it), mapping ``(N, 1, H, W)`` in [0, 1] to ``(N, D)``.

    Returns:
        ``{"features", "per_seed", "r2_test": {feature: {"mean", "std", "n"}},
        "r2_in_sample_reference": {...}, "intervals": {"r2_test": {feature: bootstrap 95%
        interval over test crops}} of the first seed when seeds do not vary R² (else None),
        "scatter": {"true", "pred", "seed"} (first seed,
        test crops, not for JSON), "predictions" (every seed's, :func:`prediction_columns`),
        "n_crops", "feature_summary" (each feature's mean and population std, ddof 0,
        over all crops: a description of the data, not a spread over seeds), "connectivity",
        ...}``.
    """
    return _run_on_device(checked_run_config(config, Task3Config, "run_task3"), data,
                          region_splits, encoder)


def _run_on_device(config: Task3Config, data: Task3Data | None,
                   region_splits: dict[str, SplitData] | None,
                   encoder: nn.Module | None) -> dict[str, Any]:
    """:func:`run_task3` of a config from :func:`~mtneuro.devices.checked_run_config`."""
    check_encoder_given(config, encoder)
    if config.setting != Task3Config.setting and not trains_on_setting(config):
        warnings.warn(f"setting {config.setting} not used: method {config.method} trains "
                      "nothing on a setting's tiles (its crops are every region's)",
                      stacklevel=3)
    thinned = thinned_3d_components(config)
    if thinned is not None:
        warnings.warn(f"{thinned}; connectivity 2d keeps cells within their slice",
                      stacklevel=3)
    start = time.perf_counter()
    source_info = None
    if data is None:
        data, source_info = load_task3_data(config)
    if config.method in SUPERVISED_METHODS and region_splits is None:
        # the task-1 preset's slice step, whatever this config's z_step (as the reference
        # trains its encoders on task 1)
        z_step = (QUICK if config.quick else FULL)["z_step"]
        region_splits, _ = load_region_splits(config.source, config.source_params,
                                              config.setting, "2d", z_step, ("train", "val"))
    frozen = frozen_encoders(config, 2, encoder=encoder, input_shapes=task3_input_shapes(config))
    train_tiles = _split_masks(data.z)["train"]
    per_seed, preds, fitted, scored = [], [], {}, {}
    for seed in config.seeds:
        torch.manual_seed(int(seed))
        embeddings, info = _embed(config, data, int(seed), train_tiles, region_splits, frozen,
                                  fitted)
        # the probe is a function of the embeddings alone: seeds that embed alike (a frozen
        # checkpoint, a seed-free decomposition) share its fits
        key = hashlib.sha256(np.ascontiguousarray(embeddings).view(np.uint8)).hexdigest()
        if key not in scored:
            scored[key] = _scores(embeddings, data, config)
        scores = dict(scored[key])
        preds.append(scores.pop("_pred"))
        per_seed.append({"seed": int(seed), **scores, **info})
    masks = _split_masks(np.repeat(data.z, 4))
    names = feature_names(config.reference_features)
    scatter = {"true": data.features[masks["test"]], "pred": preds[0],
               "seed": int(config.seeds[0])}
    summary = lambda key: {f: mean_std([r[key][f] for r in per_seed]) for f in names}
    r2_test = summary("r2_test")
    return {
        "method": config.method,
        "setting": config.setting,
        "features": list(names),
        "per_seed": per_seed,
        "r2_test": r2_test,
        "intervals": first_seed_intervals(per_seed, *r2_test.values()),
        "r2_in_sample_reference": summary("r2_in_sample_reference"),
        "r2_in_sample_chance": per_seed[0]["r2_in_sample_chance"],
        "n_crops": {k: int(v.sum()) for k, v in masks.items()} | {"all": int(masks["train"].size)},
        "feature_summary": {
            f: {"mean": float(data.features[:, j].mean()), "std": float(data.features[:, j].std())}
            for j, f in enumerate(names)
        },
        "connectivity": data.connectivity,
        "scatter": scatter,
        "predictions": prediction_columns([int(s) for s in config.seeds], preds, data, names,
                                          masks["test"]),
        "source": source_info,
        "config": to_dict(config),
        "wall_s": time.perf_counter() - start,
    }


def prediction_columns(seeds: list[int], preds: list[np.ndarray], data: Task3Data,
                       names: tuple[str, ...] | list[str], test: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """Every test crop's row of ``predictions.csv`` for each seed
    (:mod:`mtneuro.report.predictions`): ``seed``, ``tile`` (index among the task's tiles),
    ``z``, ``region``, ``crop`` (which quadrant), then ``true_<feature>`` and
    ``predicted_<feature>`` of each feature (the R² of a seed's two columns is its
    ``r2_test``); ``test``: the crops' test mask."""
    crops = len(data.features)
    tile = (np.arange(crops) // 4)[test]
    quadrant = np.asarray(CROP_NAMES)[np.arange(crops) % 4][test]
    region = np.asarray(REGION_ABBREVIATIONS)[data.region[tile]]
    repeat = len(seeds)
    columns: dict[str, np.ndarray] = {
        "seed": np.repeat(np.asarray(seeds, dtype=np.int64), tile.size),
        "tile": np.tile(tile, repeat), "z": np.tile(data.z[tile], repeat),
        "region": np.tile(region, repeat), "crop": np.tile(quadrant, repeat)}
    pred = np.concatenate(preds)
    for j, name in enumerate(names):
        columns[f"true_{name}"] = np.tile(data.features[test, j], repeat)
        columns[f"predicted_{name}"] = pred[:, j]
    return columns


def run(config: Task3Config, *, encoder: nn.Module | None = None) -> Result:
    """The task contract (:mod:`mtneuro.tasks.api`): :func:`run_task3` as a :class:`Result`
    (the scatter arrays of the first seed as an artefact, not in ``metrics``)."""
    from mtneuro.tasks.protocol import components_used
    from mtneuro.tasks.semantic_task import TASK3

    # the Result's config too names the device that ran
    config = checked_run_config(config, Task3Config, "run_task3")
    out = _run_on_device(config, None, None, encoder)
    deviations = components_used(config.preset("n_components"), out["per_seed"])
    return TASK3.from_run(config, out, artefacts=("scatter", "predictions"),
                          deviations=deviations)
