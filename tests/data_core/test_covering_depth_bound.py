"""A block deeper than its z range is refused: covering the range with it would start the
block before the range, reading slices of another split (e.g. depth 51 over the 50 test slices
[420, 470) would start at slice 419, between the validation and test ranges)."""

from __future__ import annotations

import numpy as np
import pytest
from grid_source import GridSource

from mtneuro.data.datasets import SegmentationTileDataset
from mtneuro.data.spec import Z_SPLITS, ZRange
from mtneuro.data.tiles import covering_starts
from mtneuro.errors import ConfigError

TEST = Z_SPLITS["test"]  # [420, 470)


class _CountingGrid(GridSource):
    """The grid source, remembering the z ranges it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[int, int]] = []

    def _read(self, channel, z, y, x):
        self.asked.append((int(z[0]), int(z[1])))
        return super()._read(channel, z, y, x)


@pytest.mark.parametrize("depth", [len(TEST) + 1, 100])
def test_a_block_deeper_than_the_range_is_refused(depth):
    with pytest.raises(ConfigError, match=r"depth: expected 1 to 50 slices .*\[420, 470\)"):
        covering_starts(ZRange(420, 470), depth)


def test_depth_zero_is_refused():
    with pytest.raises(ConfigError, match="depth: expected 1 to 50 slices"):
        covering_starts(TEST, 0)


def test_a_block_as_deep_as_the_range_is_the_range():
    starts, scored_from = covering_starts(TEST, len(TEST))
    assert starts.tolist() == [TEST.start] and scored_from.tolist() == [0]


@pytest.mark.parametrize(("split", "depth"), [("test", 51), ("val", 30)])
def test_the_dataset_refuses_a_too_deep_block_before_reading(split, depth):
    source = _CountingGrid()
    with pytest.raises(ConfigError, match="depth: expected 1 to"):
        SegmentationTileDataset(source, 3, split, "3d", depth=depth, regions=("cortex",),
                                progress=False)
    assert source.asked == []  # no slice read, of this split or another


def test_the_deepest_block_reads_only_its_split():
    source = _CountingGrid()
    samples = SegmentationTileDataset(source, 3, "test", "3d", depth=len(TEST),
                                      regions=("cortex",), progress=False)
    assert samples.images.shape[:3] == (1, 1, len(TEST)) and samples.scored() is None
    assert source.asked and all(TEST.start <= lo and hi <= TEST.stop for lo, hi in source.asked)
    assert np.count_nonzero(samples.scored_from) == 0
