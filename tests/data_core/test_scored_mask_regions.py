"""A 3D segmentation dataset of several regions scores each (region, slice) of its range once.

Each region's blocks end with a block aligned to the range end when the range is not a
multiple of the depth, so the first slices to score (``scored_from``) follow the same pattern
in every region, region after region. Where each sample starts is found from its voxels (the
source's slices), not from :func:`~mtneuro.data.tiles.covering_starts`, so the check does not
repeat the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from grid_source import GridSource

from mtneuro.data.datasets import SegmentationTileDataset
from mtneuro.data.sources import open_source
from mtneuro.data.spec import REGIONS, SUBVOLUME_A, TILE_SIZE, Z_SPLITS

VAL = Z_SPLITS["val"]  # [380, 409): 29 slices, a multiple of neither 8 nor 16


def _source(name: str):
    # the phantom as published; the analytic grid (cheaper to read) for all four regions
    return open_source("phantom", seed=0) if name == "phantom" else GridSource()


def _sample_starts(source, samples: SegmentationTileDataset, depth: int) -> list[int]:
    """The first slice of each sample, found by matching its voxels against its region's
    slices of the range (a source's slices there all differ, so the match is unique)."""
    volumes = {}
    starts = []
    for i, region_index in enumerate(samples.region.tolist()):
        if region_index not in volumes:
            box = SUBVOLUME_A[REGIONS[region_index]]
            volumes[region_index] = source.read_channel("image", (VAL.start, VAL.stop),
                                                        box.y, box.x)
        volume = volumes[region_index]
        block = samples.images[i, 0]
        found = [o for o in range(len(VAL) - depth + 1)
                 if np.array_equal(volume[o:o + depth], block)]
        assert len(found) == 1, (i, found)
        starts.append(VAL.start + found[0])
    return starts


@pytest.mark.parametrize(("source_name", "classes", "regions", "depth"), [
    ("phantom", 4, ("cortex", "striatum"), 8),  # 3 blocks + an end block from slice 3
    ("grid", 3, None, 16),  # all four regions: 1 block + an end block from slice 3
])
def test_each_region_scores_each_slice_of_its_range_once(source_name, classes, regions, depth):
    source = _source(source_name)
    samples = SegmentationTileDataset(source, classes, "val", "3d", depth=depth,
                                      regions=regions, progress=False)
    names = samples.regions
    assert len(names) >= 2 and samples.end_blocks == len(names)  # one end block per region
    starts = _sample_starts(source, samples, depth)
    scored = samples.scored()
    assert scored is not None and scored.shape == samples.masks.shape
    for name in names:
        mine = np.flatnonzero(samples.region == REGIONS.index(name))
        times = np.zeros(len(VAL), dtype=int)
        for i in mine:
            first = starts[i] - VAL.start
            times[first + samples.scored_from[i]:first + depth] += 1
            # the mask scores whole slices, from scored_from on
            per_slice = scored[i].reshape(depth, -1)
            assert per_slice.all(axis=1).tolist() == per_slice.any(axis=1).tolist()
            assert per_slice.any(axis=1).tolist() == [
                k >= samples.scored_from[i] for k in range(depth)]
        assert times.tolist() == [1] * len(VAL), name
        assert int(scored[mine].sum()) == len(VAL) * TILE_SIZE * TILE_SIZE, name
        # the region's end block is its last sample, aligned to the range end
        assert starts[mine[-1]] + depth == VAL.stop and samples.scored_from[mine[-1]] > 0
    # the same per-region pattern, region after region
    per_region = samples.scored_from.reshape(len(names), -1)
    assert (per_region == per_region[0]).all() and per_region[0, :-1].tolist() == [0] * (
        per_region.shape[1] - 1)
