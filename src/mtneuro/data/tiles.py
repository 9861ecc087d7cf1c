"""Reading stacks of task tiles from a volume source, vectorised.

A tile is a ``depth`` x 256 x 256 block (depth 1 for 2D samples, 8 for 3D) of
one region's sub-volume box. A z range's blocks are read with one request over their
span and reshaped, or, from a source whose requests are cheap (the phantom), one request
per run of adjacent blocks, so slices between kept blocks are never rendered.

Sources with a single slice (the real slice z=309) cannot follow the z splits;
for them :func:`single_slice_windows` defines a documented smoke protocol.
"""

from __future__ import annotations

import numpy as np

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import ROI_NAMES, Box, ZRange, roi_class_map
from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice

DIMS = {"2d": 1, "3d": 8}


def depth_of(dim: str) -> int:
    """Slices per sample: 1 for ``"2d"``, 8 for ``"3d"`` (the MTNeuro 3D setting)."""
    return DIMS[check_choice("dim", dim, list(DIMS))]


def block_starts(z: ZRange, depth: int, z_step: int = 1) -> np.ndarray:
    """First slice of each non-overlapping ``depth``-slice block in ``z``, every ``z_step``-th.

    Raises:
        ConfigError: ``z_step`` is not an int >= 1 (:func:`check_z_step`).
    """
    starts = np.arange(z.start, z.stop - depth + 1, depth)
    return starts[::check_z_step(z_step)]


def check_z_step(z_step: object) -> int:
    """``z_step`` as an int, where it is one >= 1.

    Raises:
        ConfigError: ``z_step`` is not an int >= 1 (a string too, named here rather than by
            a comparison deep inside; ``True`` and ``8.0`` too, which hash as 1 and 8).
    """
    if not isinstance(z_step, (int, np.integer)) or isinstance(z_step, bool) or z_step < 1:
        raise ConfigError(f"z_step: expected int >= 1, got {z_step!r}")
    return int(z_step)


def covering_starts(z: ZRange, depth: int, z_step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """First slice of each block of ``z``, and the first slice of each block that is scored.

    Blocks are cut from the range start. Where the range is not a multiple of ``depth`` (the
    test range ``[420, 470)`` has 50 slices: six 8-slice blocks leave 2), one more block ends
    at the range end, so every slice is read; its slices that the block before it holds are
    scored there only. The reference reads those slices too: ``bossdbdataset.py:185-200``
    starts a seventh block at slice 48, but slices it from one array of all regions
    (``:243-252``), so it runs into the next region (or is short for the last one). With
    ``z_step`` > 1 the range is sampled, not covered, and no end block is added.

    Args:
        z: the split's range.
        depth: slices per block (1 for 2D tiles).
        z_step: keep every n-th block (1: cover the range, with an end block if needed).

    Returns:
        ``(starts, scored_from)``, int64 ``(N,)`` each: block i reads slices
        ``starts[i] + [0, depth)`` and scores those from ``scored_from[i]`` on (0 but for an
        end block, whose first slices the block before it scores).

    >>> [a.tolist() for a in covering_starts(ZRange(420, 470), 8)]
    [[420, 428, 436, 444, 452, 460, 462], [0, 0, 0, 0, 0, 0, 6]]
    """
    if not 1 <= depth <= len(z):
        raise ConfigError(f"depth: expected 1 to {len(z)} slices (z range [{z.start}, "
                          f"{z.stop})), got {depth!r}")
    starts = block_starts(z, depth, z_step)
    scored_from = np.zeros(len(starts), dtype=np.int64)
    covered = z.start + len(z) // depth * depth
    if z_step == 1 and covered < z.stop:
        starts = np.append(starts, z.stop - depth)
        scored_from = np.append(scored_from, covered - (z.stop - depth))
    return starts.astype(np.int64), scored_from


def read_block_channels(source: VolumeSource, channels: tuple[str, ...], box: Box,
                        starts: np.ndarray, depth: int) -> dict[str, np.ndarray]:
    """Blocks of each of ``channels`` in ``box`` starting at each of ``starts``:
    ``{channel: uint8 (N, depth, 256, 256)}``.

    Each request's channels are read one after the other, so a source that makes every
    channel of a block at once (the phantom keeps its last block) makes it once.
    """
    starts = np.asarray(starts, dtype=np.int64)
    out = {c: np.zeros((len(starts), depth, *box.shape), dtype=np.uint8) for c in channels}
    if starts.size == 0:
        return out
    if source.cheap_requests:  # one request per run of adjacent blocks
        runs = np.split(np.arange(len(starts)), np.flatnonzero(np.diff(starts) != depth) + 1)
    else:  # one request over the span: a request's fixed cost (HTTP) dwarfs a box's slices
        runs = [np.arange(len(starts))]
    for run in runs:
        first, last = int(starts[run].min()), int(starts[run].max())
        offsets = (starts[run] - first)[:, None] + np.arange(depth)[None, :]
        for channel in channels:
            span = source.read_channel(channel, (first, last + depth), box.y, box.x)
            out[channel][run] = span[offsets]
    return out


def majority_region_class(roi_blocks: np.ndarray) -> np.ndarray:
    """Region class of each block: the class of its most frequent roi id (MTNeuro rule).

    Args:
        roi_blocks: integer roi ids (N, ...).

    Returns:
        int64 (N,) class indices.
    """
    n = roi_blocks.shape[0]
    n_ids = max(ROI_NAMES) + 1
    flat = roi_blocks.reshape(n, -1)
    if flat.size and flat.max() >= n_ids:
        raise ValueError(f"roi id {int(flat.max())} is not a known region id (0..{n_ids - 1})")
    # int32 keys where they fit: the roi voxels of a split are copied once, at half the bytes
    key = flat.astype(np.int32 if n * n_ids < 2**31 else np.int64)
    key += (n_ids * np.arange(n, dtype=key.dtype))[:, None]
    counts = np.bincount(key.ravel(), minlength=n * n_ids)
    return roi_class_map(counts.reshape(n, n_ids).argmax(axis=1)).astype(np.int64)


# ------------------------------------------------------------------ one-slice smoke protocol
SINGLE_SLICE_TILE = 64
SINGLE_SLICE_STRIDE = 32
#: Row bands of box A (y offsets within the box) per split for one-slice sources.
SINGLE_SLICE_BANDS = {"train": (0, 128), "val": (128, 192), "test": (192, 256)}


def single_slice_windows(box: Box, split: str) -> list[Box]:
    """Smoke-test windows for a source with one slice (no z to split on).

    Box A is cut into 64 x 64 windows at stride 32 inside disjoint row bands:
    y offsets [0, 128) train, [128, 192) validation, [192, 256) test, so no
    pixel is shared between splits (train 21, validation 7, test 7 windows per region).
    Numbers from this protocol are a smoke run, not comparable with MTNeuro.
    """
    lo, hi = SINGLE_SLICE_BANDS[check_choice("split", split, list(SINGLE_SLICE_BANDS))]
    size, stride = SINGLE_SLICE_TILE, SINGLE_SLICE_STRIDE
    width = box.x[1] - box.x[0]
    windows = []
    for y0 in range(lo, hi - size + 1, stride):
        for x0 in range(0, width - size + 1, stride):
            windows.append(
                Box(x=(box.x[0] + x0, box.x[0] + x0 + size), y=(box.y[0] + y0, box.y[0] + y0 + size))
            )
    return windows


def read_single_slice_windows(source: VolumeSource, windows: list[Box]) -> np.ndarray:
    """uint8 (N, 1, 64, 64) image windows of slice 0, read as one bounding block."""
    y0 = min(w.y[0] for w in windows)
    y1 = max(w.y[1] for w in windows)
    x0 = min(w.x[0] for w in windows)
    x1 = max(w.x[1] for w in windows)
    block = source.read_channel("image", (0, 1), (y0, y1), (x0, x1))[0]
    return np.stack([block[w.y[0] - y0 : w.y[1] - y0, w.x[0] - x0 : w.x[1] - x0] for w in windows])[
        :, None
    ]
