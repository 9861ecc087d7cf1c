"""Sub-volumes B, C and D of each region, found reproducibly from ``roi_labels``.

MTNeuro publishes only sub-volume A of each region (the boxes in
:data:`mtneuro.data.spec.SUBVOLUME_A`); ROI-C2 and ROI-C3 also use sub-volumes
B, C and D, whose coordinates were never released. We define them so anyone can
recompute them from any source that has region labels:

1. Read ``roi_labels`` over the whole x/y plane at the reference slices
   :data:`REFERENCE_SLICES` (first, middle and last slice of the task depth
   ``[110, 470)``) and map ids to region classes (``ROI_TO_CLASS``), except the
   "clear" id 0, which counts as outside every region.
2. For every 256 x 256 window whose corner lies on a :data:`GRID`-pixel grid,
   compute (with a summed-area table) the fraction of its pixels in each class;
   a window's score for a class is the minimum of that fraction over the
   reference slices.
3. Candidates for a region are windows scoring at least :data:`MIN_INSIDE`
   (95 %) that do not overlap that region's box A.
4. Candidates are ordered by the distance between their centre and the centre
   of box A (ties broken by y, then x) and taken greedily, each disjoint from
   the boxes already taken (in any region): the first is B, then C, then D.
"""

from __future__ import annotations

import json

import numpy as np

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import (
    REGIONS,
    SUBVOLUME_A,
    SUBVOLUME_Z,
    TILE_SIZE,
    Box,
    roi_class_map,
)
from mtneuro.errors import DataError

REFERENCE_SLICES = (SUBVOLUME_Z.start, (SUBVOLUME_Z.start + SUBVOLUME_Z.stop) // 2, SUBVOLUME_Z.stop - 1)
GRID = 64
MIN_INSIDE = 0.95
LETTERS = ("A", "B", "C", "D")


def window_fractions(mask: np.ndarray, size: int = TILE_SIZE, grid: int = GRID) -> np.ndarray:
    """Fraction of ``True`` pixels in every ``size`` x ``size`` window on a ``grid``.

    Args:
        mask: boolean (Y, X).

    Returns:
        (ny, nx) array; entry (i, j) is the window with corner (i * grid, j * grid).
    """
    height, width = mask.shape
    if height < size or width < size:
        return np.zeros((0, 0))
    ys = np.arange(0, height - size + 1, grid)
    xs = np.arange(0, width - size + 1, grid)
    # The table counts cells of ``step`` pixels; a window is ``k`` cells a side.
    if size % grid == 0:
        # Windows are whole grid cells: count each cell once, then sum cells (the same
        # integer counts as a full-resolution table, ~10x faster on a whole slice).
        step, k = grid, size // grid
        ny, nx = len(ys) - 1 + k, len(xs) - 1 + k
        counts = mask[: ny * grid, : nx * grid].reshape(ny, grid, nx, grid).sum(
            axis=(1, 3), dtype=np.int64)
    else:
        step, k = 1, size
        counts = np.asarray(mask, dtype=np.int64)
    table = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), dtype=np.int64)
    table[1:, 1:] = np.cumsum(np.cumsum(counts, axis=0), axis=1)
    y0, x0 = ys[:, None] // step, xs[None, :] // step
    inside = table[y0 + k, x0 + k] - table[y0, x0 + k] - table[y0 + k, x0] + table[y0, x0]
    return inside / float(size * size)


def _class_scores(source: VolumeSource) -> np.ndarray:
    """(n_classes, ny, nx) worst-case inside-fraction over the reference slices."""
    if "roi_labels" not in source.channels:
        raise DataError(
            f"source {source.name!r} has no roi_labels, so sub-volumes B/C/D cannot be found; "
            "use setting roi-c1 (sub-volume A only)"
        )
    _, height, width = source.shape
    scores = None
    for z in REFERENCE_SLICES:
        if z >= source.shape[0]:
            raise DataError(f"source {source.name!r} has {source.shape[0]} slices; sub-volumes need z up to {z}")
        roi = source.read_channel("roi_labels", (z, z + 1), (0, height), (0, width))[0]
        # "clear" (id 0) maps to the cortex class for tile labels, but outside tissue is not
        # inside any region: a window at the tissue edge must not count as cortex.
        classes = np.where(roi == 0, -1, roi_class_map(roi))
        per_class = np.stack([window_fractions(classes == c) for c in range(len(REGIONS))])
        scores = per_class if scores is None else np.minimum(scores, per_class)
    return scores


def compute_subvolumes(source: VolumeSource) -> dict[str, dict[str, Box]]:
    """Boxes of sub-volumes A-D per region (see the module docstring for the rule).

    Raises:
        DataError: the source has no region labels, or a region has fewer than
            three qualifying windows.
    """
    scores = _class_scores(source)
    taken = list(SUBVOLUME_A.values())
    result: dict[str, dict[str, Box]] = {}
    for cls, region in enumerate(REGIONS):
        box_a = SUBVOLUME_A[region]
        iy, ix = np.nonzero(scores[cls] >= MIN_INSIDE)
        y0, x0 = iy * GRID, ix * GRID
        centre_a = (np.mean(box_a.y), np.mean(box_a.x))
        distance = np.hypot(y0 + TILE_SIZE / 2 - centre_a[0], x0 + TILE_SIZE / 2 - centre_a[1])
        order = np.lexsort((x0, y0, distance))
        boxes = {"A": box_a}
        for k in order:
            candidate = Box(x=(int(x0[k]), int(x0[k]) + TILE_SIZE), y=(int(y0[k]), int(y0[k]) + TILE_SIZE))
            if any(candidate.overlaps(other) for other in taken):
                continue
            boxes[LETTERS[len(boxes)]] = candidate
            taken.append(candidate)
            if len(boxes) == len(LETTERS):
                break
        if len(boxes) < len(LETTERS):
            raise DataError(
                f"region {region}: only {len(boxes) - 1} windows of {TILE_SIZE}x{TILE_SIZE} lie "
                f">= {MIN_INSIDE:.0%} inside it in source {source.name!r}; need 3 for sub-volumes B, C, D"
            )
        result[region] = boxes
    return result


_MEMO: dict[str, dict[str, dict[str, Box]]] = {}


def subvolumes(source: VolumeSource) -> dict[str, dict[str, Box]]:
    """:func:`compute_subvolumes`, memoised per source description (it reads whole slices)."""
    key = json.dumps(source.describe(), sort_keys=True, default=str)
    if key not in _MEMO:
        _MEMO[key] = compute_subvolumes(source)
    return _MEMO[key]
