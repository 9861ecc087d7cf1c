"""What the volume tasks 1 and 3 share: their methods' preset sizes, reading region tiles,
and the on-the-fly SSL pre-training resolved once when a config is built.

Task 3's encoders are trained on task 1's setting (by the MTNeuro protocol), so both tasks
read task-1 tiles (:func:`load_region_splits`) and pre-train SSL encoders on the setting's
training tiles at the pre-training's slice step (:func:`ssl_training_tiles`): task 1
takes them from the tiles it already read when they include them (its ``z_step`` divides
the pre-training's, as in both presets), task 3 reads them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mtneuro.config import check, from_mapping, some_seeds
from mtneuro.data.datasets import RegionTileDataset, sparser_tile_rows
from mtneuro.data.sources import SOURCE_NAMES, open_source
from mtneuro.data.spec import region_setting
from mtneuro.data.tiles import depth_of
from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice
from mtneuro.tasks.pretrain.config import (
    PRETRAIN_DEVICES,
    check_pretrain_keys,
    pretrains_on,
    task_pretrain_values,
)
from mtneuro.vocab import SSL_METHODS, VOLUME_METHODS

#: Sizes of the quick and full presets of tasks 1 and 3 (task-1 epochs:
#: :mod:`mtneuro.tasks.region_protocol`; task-3 components: ``QUICK_TASK3``).
QUICK = {"z_step": 8, "backbone": "resnet-tiny", "nmf_max_iter": 100}
FULL = {"z_step": 1, "backbone": "resnet18", "nmf_max_iter": 200}
Method = Literal[VOLUME_METHODS]
#: Checks of fields of the task-1 / task-3 configs: seeds, and sides tiles are resized to.
SOME_SEEDS = some_seeds()
EVEN_SIDE = check(lambda v: v >= 4 and v % 2 == 0, "even int >= 4")
SPLITS = ("train", "val", "test")


@dataclass
class SplitData:
    """One split: uint8 tiles ``(N, 1, [8,] H, W)``, labels ``(N,)`` and first slice ``(N,)``.

    ``single_slice``: read from a one-slice source, whose smoke protocol ignores slice steps.
    """

    images: np.ndarray
    labels: np.ndarray
    z: np.ndarray
    single_slice: bool = False


def load_region_splits(source_name: str, source_params: Mapping[str, Any], setting: str,
                       dim: str, z_step: int, splits: tuple[str, ...] = SPLITS,
                       ) -> tuple[dict[str, SplitData], dict[str, Any]]:
    """Read the tiles of ``splits`` of a task-1 setting once; returns them and provenance."""
    source = open_source(source_name, **source_params)
    out = {}
    for split in splits:
        ds = RegionTileDataset(source, setting, split, dim, z_step=z_step)
        out[split] = SplitData(ds.images, ds.labels, ds.z, single_slice=source.shape[0] == 1)
    return out, source.describe()


def pretraining_tiles(train: SplitData, setting: str, z_step: int, pretrain_z_step: int,
                      ) -> np.ndarray:
    """The 2D training tiles a read at ``pretrain_z_step`` would give, taken from ``train``
    (read at ``z_step``), in the same order: no second read of the volume.

    Raises:
        ConfigError: ``pretrain_z_step`` is not a multiple of ``z_step`` (those slices
            were not read).
    """
    if train.single_slice:  # one-slice windows: every read gives them all
        return train.images
    if pretrain_z_step % z_step:
        raise ConfigError(f"pretrain.z_step: expected a multiple of the task's z_step {z_step} "
                          f"(pre-training uses the task's training tiles), got {pretrain_z_step}")
    rows, count = sparser_tile_rows(region_setting(setting).parts("train"), depth_of("2d"),
                                    z_step, pretrain_z_step // z_step)
    if count != len(train.z):
        raise ConfigError(f"pretraining tiles: expected {count} training tiles of {setting}, "
                          f"got {len(train.z)}")
    return train.images[rows]


def ssl_training_tiles(config: Any, train: SplitData | None = None) -> np.ndarray:
    """The 2D training tiles of a task-1 / task-3 ``config``'s on-the-fly pre-training, at
    ``config.pretrain.z_step``: taken from ``train`` (the task-1 training split, read at
    ``config.preset("z_step")``) when it holds them, else read once."""
    step = config.pretrain.z_step
    if train is not None and (train.single_slice or step % config.preset("z_step") == 0):
        return pretraining_tiles(train, config.setting, config.preset("z_step"), step)
    splits, _ = load_region_splits(config.source, config.source_params, config.setting, "2d",
                                   step, ("train",))
    return splits["train"].images


def pretrains_on_the_fly(config: Any) -> bool:
    """Whether a task-1 / task-3 config pre-trains its SSL encoder itself (an SSL method,
    no ``encoder`` given, 2D)."""
    return (config.method in SSL_METHODS and config.encoder is None
            and getattr(config, "dim", "2d") == "2d")


def with_pretrain(config_class: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve the ``pretrain`` values of raw task-1 / task-3 values, once, at the boundary.

    A config that pre-trains on the fly gets the complete values of its
    :class:`~mtneuro.tasks.pretrain.config.PretrainConfig` (the ``quick`` or ``default``
    preset, the task's method, data and device, then the given ``pretrain`` values); any
    other gets ``pretrain: None``, with a warning naming the given values it does not use.
    """
    raw = dict(raw)
    given = raw.pop("pretrain", None)
    provisional = from_mapping(config_class, raw)
    if not pretrains_on_the_fly(provisional):
        check_pretrain_keys(given)  # unused, but a typo is still named
        unused = [key for key, value in (given or {}).items() if value is not None]
        if unused:
            given_encoder = " with a given encoder" if provisional.encoder is not None else ""
            warnings.warn(f"pretrain.{', pretrain.'.join(unused)} not used: method "
                          f"{provisional.method}{given_encoder} pre-trains nothing on the fly",
                          stacklevel=2)
        return {**raw, "pretrain": None}
    # before the pre-training's own check, which also takes image datasets and names its key
    check_choice("source", provisional.source, SOURCE_NAMES)
    _check_pretrain_device(provisional.device, provisional.method)
    task = {k: getattr(provisional, k) for k in
            ("method", "setting", "source", "source_params", "device", "seeds", "quiet")}
    return {**raw, "pretrain": task_pretrain_values(task, given, quick=provisional.quick)}


def _check_pretrain_device(device: str, method: str) -> None:
    """The task's device, which its pre-training on the fly takes, refused by the task's own
    key: the user gave ``device`` (``--device``), never ``pretrain.device``.

    Raises:
        ConfigError: a device pre-training does not run on (one line; MPS: the ways out).
    """
    if pretrains_on(device):
        return
    if device.split(":")[0] == "mps":
        raise ConfigError(f"device {device!r} (--device {device}): {method} pre-trains its "
                          "encoder on the fly, on cpu or cuda only; use --device cpu, or "
                          "pre-train with `mtneuro pretrain` and pass its encoder.pt with "
                          "--encoder")
    raise ConfigError(f"device: expected {PRETRAIN_DEVICES} ({method} pre-trains its encoder "
                      f"on the fly), got {device!r}")
