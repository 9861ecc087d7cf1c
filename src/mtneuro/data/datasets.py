"""PyTorch datasets for the MTNeuro tasks, over any volume source.

All tiles of a split are read once at construction (a few vectorised reads per
region) and kept as uint8 arrays, so ``__getitem__`` only converts one sample:
cheap, deterministic and safe in DataLoader workers. ``arrays()`` exposes the
whole split for vectorised consumers (PCA/NMF, batched feature extraction). A split
read from a source with a content key (the phantom) is kept, and the next dataset of
the same split in the process takes a copy instead of reading it again
(:mod:`mtneuro.data.tile_cache`).

Items are dicts:

* region tiles: ``{"image": float32 (1, H, W) or (1, 8, H, W) in [0, 1], "label": int, "z": int}``
* segmentation tiles: ``{"image": ..., "mask": int64 (H, W) or (8, H, W), "region": int}``
  (``region``: the tile's index in :data:`~mtneuro.data.spec.REGIONS`)

A ``transform`` receives the item dict and returns the one the dataset gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mtneuro.data import tile_cache
from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import (
    REGIONS,
    SUBVOLUME_A,
    Z_SPLITS,
    Part,
    region_setting,
    segmentation_setting,
)
from mtneuro.data.subvolumes import subvolumes
from mtneuro.data.tiles import (
    block_starts,
    check_z_step,
    covering_starts,
    depth_of,
    majority_region_class,
    read_block_channels,
    read_single_slice_windows,
    single_slice_windows,
)
from mtneuro.errors import ConfigError, DataError
from mtneuro.progress import LoopProgress
from mtneuro.registry import check_choice

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def to_float_image(images: np.ndarray) -> torch.Tensor:
    """uint8 array -> float32 tensor in [0, 1], same shape."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)


def _with_channel(blocks: np.ndarray, depth: int) -> np.ndarray:
    """(N, depth, H, W) blocks -> (N, 1, H, W) for 2D (depth 1) or (N, 1, depth, H, W) for 3D."""
    return blocks[:, None] if depth > 1 else blocks


class _TileDataset(Dataset):
    images: np.ndarray
    transform: Transform | None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @staticmethod
    def _transform(transform: Transform | None) -> Transform | None:
        # checked before the split is read: a non-callable failed only at ds[0], much later
        if transform is not None and not callable(transform):
            raise ConfigError(f"transform: expected a callable taking and returning the item "
                              f"dict, or None, got {type(transform).__name__} {transform!r}")
        return transform

    def _finish(self, item: dict[str, Any]) -> dict[str, Any]:
        return self.transform(item) if self.transform is not None else item


class RegionTileDataset(_TileDataset):
    """Task 1: tiles labelled with their brain region (0 cortex, 1 striatum, 2 thalamus, 3 ZI).

    Args:
        source: any volume source with ``image`` (and ``roi_labels``, used for labels
            and to find sub-volumes B-D), or a source name (``"phantom"``:
            :func:`~mtneuro.data.open_source` with its defaults).
        setting: ``"roi-c1"``, ``"roi-c2"`` or ``"roi-c3"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        dim: ``"2d"`` (1-slice tiles) or ``"3d"`` (8-slice blocks).
        z_step: keep every ``z_step``-th block (quick runs).
        transform: applied to each item dict.
        progress: show the reading's progress (a bar on a terminal, lines in a log).

    The class of a tile is that of its most frequent roi id; a source without
    ``roi_labels`` labels tiles by the region of their box. A one-slice source
    follows :func:`mtneuro.data.tiles.single_slice_windows` (a smoke protocol).
    """

    def __init__(
        self,
        source: VolumeSource | str,
        setting: str = "roi-c1",
        split: str = "train",
        dim: str = "2d",
        *,
        z_step: int = 1,
        transform: Transform | None = None,
        progress: bool = True,
    ) -> None:
        transform = self._transform(transform)
        source = _volume_source(source)
        self.source, self.dim, self.split, self.transform = source, dim, split, transform
        self.setting = region_setting(setting)
        depth = depth_of(dim)
        parts = self.setting.parts(split)
        # the one-slice protocol ignores the slice step; elsewhere a bad one fails first
        step = None if source.shape[0] == 1 else check_z_step(z_step)
        content = tile_cache.source_key(source)
        key = (None if content is None
               else ("region", content, self.setting.name, split, depth, step))
        what = f"reading {split} tiles ({setting}, {dim})"
        arrays = tile_cache.SPLITS.remembered(
            key, lambda: _read_region_tiles(source, parts, split, depth, z_step, progress, what),
            derive=lambda kept, got: _sparser_region_tiles(key, kept, got, parts,
                                                           source.cheap_requests),
            on_hit=_say_kept(what, progress))
        self.images, self.labels, self.z = arrays["images"], arrays["labels"], arrays["z"]
        if len(self.labels) == 0:
            raise DataError(f"no tiles for setting {self.setting.name} split {split} "
                            f"(z_step={z_step})")
        if (self.labels < 0).any():
            raise DataError("some tiles are dominated by an unknown roi id")

    def __getitem__(self, index: int) -> dict[str, Any]:
        """``{"image": float32 (1, H, W) in [0, 1] (3D: (1, 8, H, W)), "label": int,
        "z": int}`` (H = W = 256 in MTNeuro), passed through ``transform`` if given."""
        item = {
            "image": to_float_image(self.images[index]),
            "label": int(self.labels[index]),
            "z": int(self.z[index]),
        }
        return self._finish(item)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All tiles: uint8 images (N, 1, H, W) or (N, 1, 8, H, W), int64 labels (N,)."""
        return self.images, self.labels


class SegmentationTileDataset(_TileDataset):
    """Task 2: tiles with per-pixel microstructure classes.

    Args:
        source: a source with ``image`` and ``pixel_labels``, or a source name.
        classes: 4 (background, vessel, cell, axon; cortex/striatum/thalamus) or
            3 (axons merged into background; all four regions).
        split: ``"train"``, ``"val"`` or ``"test"`` (the task z splits of box A).
        dim: ``"2d"`` or ``"3d"``.
        z_step: keep every ``z_step``-th block (1: the whole range, its end included:
            :func:`~mtneuro.data.tiles.covering_starts`).
        depth: slices per 3D block (the reference's ``volume_z``; default 8, as published).
        regions: the regions to read, a subset of the setting's, or one region's name
            (default: all of them, cortex/striatum/thalamus for 4 classes, also
            zona_incerta for 3).
        transform: applied to each item dict (``image``, ``mask``, ``region``).
        progress: show the reading's progress (a bar on a terminal, lines in a log).

    Attributes:
        region: int64 ``(N,)``, each tile's index in :data:`~mtneuro.data.spec.REGIONS`
            (also its item's ``region``).
        z: int64 ``(N,)``, the volume z of each tile (of a block's first slice).
        scored_from: int64 ``(N,)``, the first slice of each sample to score: 0 but for a
            block aligned to its range end, whose first slices the block before it holds.
    """

    def __init__(
        self,
        source: VolumeSource | str,
        classes: int = 4,
        split: str = "train",
        dim: str = "2d",
        *,
        z_step: int = 1,
        depth: int | None = None,
        regions: Sequence[str] | str | None = None,
        transform: Transform | None = None,
        progress: bool = True,
    ) -> None:
        transform = self._transform(transform)
        source = _volume_source(source)
        if "pixel_labels" not in source.channels:
            raise DataError(f"source {source.name!r} has no pixel_labels; task 2 needs them")
        self.source, self.dim, self.split, self.transform = source, dim, split, transform
        self.setting = segmentation_setting(classes)
        self.regions = _region_names(regions, self.setting.regions)
        depth = _block_depth(dim, depth)
        z = Z_SPLITS[check_choice("split", split, list(Z_SPLITS))]
        starts, scored_from = covering_starts(z, depth, z_step)
        content = tile_cache.source_key(source)
        key = (None if content is None else ("segmentation", content, self.setting.n_classes,
                                             split, depth, check_z_step(z_step), self.regions))
        what = f"reading {split} tiles (task 2, {dim})"
        arrays = tile_cache.SPLITS.remembered(
            key, lambda: self._read(source, starts, scored_from, depth, progress, what),
            on_hit=_say_kept(what, progress))
        self.images, self.masks, self.region = arrays["images"], arrays["masks"], arrays["region"]
        self.z, self.scored_from = arrays["z"], arrays["scored_from"]

    def _read(self, source: VolumeSource, starts: np.ndarray, scored_from: np.ndarray,
              depth: int, progress: bool, what: str) -> tile_cache.Arrays:
        images, masks, region_index = [], [], []
        with LoopProgress(what, len(starts) * len(self.regions), unit="tiles",
                          enabled=progress) as shown:
            for region in self.regions:
                read = read_block_channels(source, ("image", "pixel_labels"), SUBVOLUME_A[region],
                                           starts, depth)
                images.append(read["image"])
                # uint8: a class fits in a byte, and int64 masks were 8x the images' memory
                masks.append(self.setting.map_labels(read["pixel_labels"]))
                region_index.append(np.full(len(starts), REGIONS.index(region)))
                shown.update(len(starts), detail=region)
        masks_arr = np.concatenate(masks)
        return {"images": _with_channel(np.concatenate(images), depth),
                "masks": masks_arr[:, 0] if depth == 1 else masks_arr,
                "region": np.concatenate(region_index).astype(np.int64),
                "z": np.tile(starts, len(self.regions)).astype(np.int64),
                "scored_from": np.tile(scored_from, len(self.regions))}

    @property
    def end_blocks(self) -> int:
        """Blocks aligned to a range end (those that score fewer slices than they hold)."""
        return int(np.count_nonzero(self.scored_from))

    def scored(self) -> np.ndarray | None:
        """Boolean map shaped as ``masks`` of the voxels to score (each test voxel once);
        ``None`` when all are."""
        if not self.scored_from.any():
            return None
        keep = np.arange(self.masks.shape[1])[None, :] >= self.scored_from[:, None]
        return np.broadcast_to(keep[:, :, None, None], self.masks.shape)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """``{"image": float32 (1, H, W) in [0, 1], "mask": int64 (H, W), "region": int}``
        (3D: image (1, depth, H, W), mask (depth, H, W); H = W = 256 in MTNeuro), passed
        through ``transform`` if given."""
        item = {
            "image": to_float_image(self.images[index]),
            "mask": torch.from_numpy(self.masks[index].astype(np.int64)),
            "region": int(self.region[index]),
        }
        return self._finish(item)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images (N, 1, [8,] H, W) and uint8 class masks (N, [8,] H, W)."""
        return self.images, self.masks


def _volume_source(source: VolumeSource | str) -> VolumeSource:
    """``source``, or the source its name opens with defaults (``"phantom"``).

    Raises:
        TypeError: neither a :class:`VolumeSource` nor a name (a path or an array, say).
        ConfigError: an unknown source name.
    """
    if isinstance(source, str):
        from mtneuro.data.sources import open_source

        return open_source(source)
    # duck-typed, as everywhere a source is read: a class of the user's need not subclass
    if not isinstance(source, VolumeSource) and not (
            hasattr(source, "read") and hasattr(source, "shape")):
        raise TypeError(f"source: expected a volume source, e.g. "
                        f"mtneuro.data.open_source('phantom'), or its name, got "
                        f"{type(source).__name__} {source!r:.60}")
    return source


def _region_names(regions: Sequence[str] | str | None, valid: tuple[str, ...]
                  ) -> tuple[str, ...]:
    """``regions`` as a tuple of the setting's region names (a str is one name, not letters;
    ``None``: all of ``valid``)."""
    if regions is None:
        return valid
    names = (regions,) if isinstance(regions, str) else regions
    try:
        names = tuple(names)
    except TypeError:
        raise ConfigError(f"regions: expected region names from {', '.join(valid)}, got "
                          f"{regions!r}") from None
    if not names:
        raise ConfigError(f"regions: expected at least one of {', '.join(valid)}, got {regions!r}")
    for region in names:
        check_choice("region", region, list(valid))
    return names


def _say_kept(what: str, progress: bool) -> Callable[[tile_cache.Arrays], None]:
    """Show a split taken from memory as its read is shown (a log, the bench's live table)."""
    def say(arrays: tile_cache.Arrays) -> None:
        count = len(arrays["images"])
        with LoopProgress(what, count, unit="tiles", enabled=progress, timed=False) as shown:
            shown.update(count, detail="kept from an earlier read")

    return say


def _read_region_tiles(source: VolumeSource, parts: tuple[Part, ...], split: str, depth: int,
                       z_step: int, progress: bool, what: str) -> tile_cache.Arrays:
    """Task-1 tiles of ``parts`` read from ``source``: ``images``, ``labels`` and ``z``, part
    by part, then region by region, in slice order (what :func:`sparser_tile_rows`
    counts on)."""
    images, labels, zs = [], [], []
    if source.shape[0] == 1:
        if depth > 1 or any(p.subvolume != "A" for p in parts):
            raise ConfigError(
                f"source {source.name!r} has one slice: only setting roi-c1 in 2D is possible"
            )
        for cls, region in enumerate(REGIONS):
            windows = single_slice_windows(SUBVOLUME_A[region], split)
            images.append(read_single_slice_windows(source, windows))
            labels.append(np.full(len(windows), cls))
            zs.append(np.zeros(len(windows), dtype=np.int64))
    else:
        letters = {p.subvolume for p in parts}
        boxes = (subvolumes(source) if letters - {"A"}
                 else {r: {"A": SUBVOLUME_A[r]} for r in REGIONS})
        total = sum(len(block_starts(p.z, depth, z_step)) for p in parts) * len(REGIONS)
        has_roi = "roi_labels" in source.channels
        with LoopProgress(what, total, unit="tiles", enabled=progress) as shown:
            for part in parts:
                starts = block_starts(part.z, depth, z_step)
                for cls, region in enumerate(REGIONS):
                    box = boxes[region][part.subvolume]
                    read = read_block_channels(
                        source, ("image", "roi_labels")[:1 + has_roi], box, starts, depth)
                    images.append(read["image"])
                    if has_roi:
                        labels.append(majority_region_class(read["roi_labels"]))
                    else:
                        labels.append(np.full(len(starts), cls))
                    zs.append(starts)
                    shown.update(len(starts), detail=f"{region} {part.subvolume}")
    return {"images": _with_channel(np.concatenate(images), depth),
            "labels": np.concatenate(labels).astype(np.int64),
            "z": np.concatenate(zs).astype(np.int64)}


def _sparser_region_tiles(key: tuple[Any, ...], kept_key: Any, kept: tile_cache.Arrays,
                          parts: tuple[Part, ...], cheap_requests: bool,
                          ) -> tile_cache.Arrays | None:
    """The tiles of ``key`` taken from a kept read of the same split at a step that divides
    ``key``'s (task 3's pre-training reads at 16 what task 1 read at 8), or ``None``.

    Each part's starts at step ``k * s`` are those at step ``s`` taken every k-th, region
    by region. Only where both reads asked for each block on its own (a source of cheap
    requests, steps >= 2: no two blocks adjacent) is the result the bytes a read would give:
    the phantom's blocks agree with the same part of a larger block only to well below
    a gray level, not bit for bit.
    """
    if not (isinstance(kept_key, tuple) and len(kept_key) == len(key)
            and kept_key[:-1] == key[:-1] and cheap_requests):
        return None
    step, wanted, depth = kept_key[-1], key[-1], key[-2]
    if step is None or wanted is None or not 2 <= step < wanted or wanted % step:
        return None
    rows, read = sparser_tile_rows(parts, depth, step, wanted // step)
    if read != len(kept["labels"]):
        return None
    return {name: array[rows] for name, array in kept.items()} if rows.size else None


def sparser_tile_rows(parts: tuple[Part, ...], depth: int, step: int, stride: int,
                      ) -> tuple[np.ndarray, int]:
    """(rows, count): the rows of a task-1 split read at ``step`` (:func:`_read_region_tiles`'
    order: part by part, region by region, in slice order) that a read at ``step * stride``
    gives, in its order, and the number of tiles the read at ``step`` holds."""
    index, offset = [], 0
    for part in parts:
        count = len(block_starts(part.z, depth, step))
        for _region in REGIONS:
            index.append(offset + np.arange(0, count, stride))
            offset += count
    return (np.concatenate(index) if index else np.zeros(0, dtype=np.int64)), offset


def _block_depth(dim: str, depth: int | None) -> int:
    """Slices per sample: 1 in 2D; ``depth`` (default 8) in 3D."""
    default = depth_of(dim)
    if depth is None or depth == default:
        return default
    if dim == "2d":
        raise ConfigError(f"depth: 2d samples are single slices, got {depth!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ConfigError(f"depth: expected an int >= 1, got {depth!r}")
    return depth
