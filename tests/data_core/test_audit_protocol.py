"""Known answers for the MTNeuro protocol pieces a mutation audit found untested: box
geometry, id maps at their edges, the ROI-C3 training range, and sub-volumes that must
hold at every reference slice and never count outside tissue as a region."""

from __future__ import annotations

import numpy as np
import pytest
from grid_source import GridSource

from mtneuro.data.datasets import RegionTileDataset
from mtneuro.data.spec import (
    REGIONS,
    SUBVOLUME_Z,
    Box,
    ZRange,
    region_setting,
    roi_class_map,
    segmentation_setting,
)
from mtneuro.data.subvolumes import REFERENCE_SLICES, compute_subvolumes


def test_box_shape_is_rows_then_columns():
    # non-square on purpose: the published boxes are all 256 x 256 and hide an axis swap
    assert Box(x=(10, 40), y=(5, 15)).shape == (10, 30)


def test_boxes_that_only_touch_do_not_overlap():
    """Half-open ranges: a box ending at x=100 and one starting there share no voxel."""
    left = Box(x=(0, 100), y=(0, 100))
    for right in (Box(x=(100, 200), y=(0, 100)), Box(x=(0, 100), y=(100, 200))):
        assert not left.overlaps(right) and not right.overlaps(left)
    assert left.overlaps(Box(x=(99, 200), y=(99, 200)))


def test_negative_roi_ids_are_unknown_not_wrapped_around():
    # -1 would index the last lookup entry (corpus callosum, class 1) if let through
    assert roi_class_map(np.array([-1, 9, 8, 0])).tolist() == [-1, -1, 1, 0]


@pytest.mark.parametrize("classes", [3, 4])
def test_negative_pixel_labels_are_refused_not_wrapped_around(classes):
    with pytest.raises(ValueError, match="0..3"):
        segmentation_setting(classes).map_labels(np.array([0, -1]))


def test_roi_c3_trains_on_every_slice_of_subvolume_b():
    """ROI-C3 trains on A's train range and on B's whole depth [110, 470)."""
    setting = region_setting("roi-c3")
    assert [(p.subvolume, p.z) for p in setting.train] == [
        ("A", ZRange(110, 379)), ("B", ZRange(110, 470))]
    # every 100th slice: A gives 110, 210, 310; B also 410 (beyond the train range)
    ds = RegionTileDataset(GridSource(), "roi-c3", "train", z_step=100, progress=False)
    assert ds.z.tolist() == [110, 210, 310] * len(REGIONS) + [110, 210, 310, 410] * len(REGIONS)


class _LastSliceEdge(GridSource):
    """GridSource whose last task slice (469) is outside tissue (roi id 0, "clear") in a
    strip above cortex box A, where cortex sub-volume B lies on the plain GridSource."""

    STRIP = (slice(576, 900), slice(4300, 5805))  # y, x

    def _read(self, channel, z, y, x):
        block = super()._read(channel, z, y, x)
        if channel == "roi_labels" and z[0] <= SUBVOLUME_Z.stop - 1 < z[1]:
            block = block.copy()
            ys = np.arange(*y)[:, None]
            xs = np.arange(*x)[None, :]
            inside = ((ys >= self.STRIP[0].start) & (ys < self.STRIP[0].stop)
                      & (xs >= self.STRIP[1].start) & (xs < self.STRIP[1].stop))
            block[SUBVOLUME_Z.stop - 1 - z[0]][inside] = 0
        return block


def test_subvolumes_hold_at_the_last_slice_and_exclude_outside_tissue():
    """A sub-volume must be >= 95 % its region at the first, middle *and* last task slice,
    and outside tissue (id 0, whose tile class is cortex) is inside no region. On the
    plain GridSource cortex B is the window just above box A; here that window is clear at
    slice 469, so another one must be chosen."""
    assert REFERENCE_SLICES == (110, 290, 469)
    source = _LastSliceEdge()
    boxes = compute_subvolumes(source)
    assert boxes["cortex"]["B"] != Box(x=(4608, 4864), y=(640, 896))
    for cls, region in enumerate(REGIONS):
        for letter, box in boxes[region].items():
            if letter == "A":
                continue
            for z in REFERENCE_SLICES:
                roi = source.read_channel("roi_labels", (z, z + 1), box.y, box.x)[0]
                inside = (roi != 0) & (roi_class_map(roi) == cls)
                assert inside.mean() >= 0.95, (region, letter, z)
