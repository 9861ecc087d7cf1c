"""The phantom source: determinism, block consistency, layout and region differences."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.data.sources import open_source
from mtneuro.data.spec import AXON, CELL, REGIONS, SUBVOLUME_A, SUBVOLUME_Z, VESSEL, roi_class_map
from mtneuro.data.subvolumes import compute_subvolumes
from mtneuro.errors import ConfigError


@pytest.fixture(scope="module")
def phantom():
    return open_source("phantom", seed=0)


def test_extent_and_channels(phantom):
    assert phantom.shape == (720, 1420, 5805)
    assert phantom.channels == ("image", "roi_labels", "pixel_labels")
    assert phantom.describe()["params"] == {"seed": 0}


def test_same_seed_same_bytes_other_seed_differs(phantom):
    z, y, x = (300, 304), (880, 960), (3100, 3180)
    again = open_source("phantom", seed=0).read(z, y, x)
    first = phantom.read(z, y, x)
    other = open_source("phantom", seed=1).read(z, y, x)
    for channel in ("image", "pixel_labels"):
        assert first[channel].tobytes() == again[channel].tobytes()
        assert first[channel].tobytes() != other[channel].tobytes()
    # the layout is the real one whatever the seed
    assert np.array_equal(first.roi_labels, other.roi_labels)


@pytest.mark.parametrize(
    "big, small",
    [
        # interior block inside a larger one, not aligned with any internal grid
        (((297, 311), (893, 1011), (3050, 3190)), ((301, 306), (917, 950), (3101, 3163))),
        # blocks at the volume corner (the blur halo is clipped there)
        (((0, 6), (0, 70), (5740, 5805)), ((2, 5), (0, 33), (5771, 5805))),
        # a wide block rendered in several pieces, the small one across a piece border
        (((300, 302), (700, 740), (1000, 1600)), ((300, 302), (710, 730), (1500, 1530))),
        # across a region border (striatum / corpus callosum / cortex)
        (((150, 154), (600, 664), (4200, 4420)), ((151, 153), (610, 650), (4260, 4400))),
    ],
)
def test_block_equals_part_of_larger_block(phantom, big, small):
    whole = phantom.read(*big)
    part = phantom.read(*small)
    index = tuple(slice(s[0] - b[0], s[1] - b[0]) for s, b in zip(small, big))
    for channel in ("image", "roi_labels", "pixel_labels"):
        assert np.array_equal(part[channel], whole[channel][index]), channel


def test_single_channel_reads_agree_with_joint_read(phantom):
    z, y, x = (400, 402), (500, 560), (3700, 3790)
    joint = phantom.read(z, y, x)
    fresh = open_source("phantom", seed=0)
    assert np.array_equal(fresh.read_channel("pixel_labels", z, y, x), joint.pixel_labels)
    assert np.array_equal(fresh.read_channel("image", z, y, x), joint.image)


def test_returned_arrays_are_private(phantom):
    z, y, x = (10, 11), (700, 710), (2000, 2010)
    block = phantom.read_channel("image", z, y, x)
    block[:] = 0
    assert phantom.read_channel("image", z, y, x).any()


@pytest.mark.parametrize("region", REGIONS)
def test_published_boxes_lie_in_their_regions(phantom, region):
    box = SUBVOLUME_A[region]
    cls = REGIONS.index(region)
    for z in range(SUBVOLUME_Z.start, SUBVOLUME_Z.stop, 30):
        classes = roi_class_map(phantom.read_channel("roi_labels", (z, z + 1), box.y, box.x))
        assert (classes == cls).mean() >= 0.95, (region, z)
    # the box's last slice too
    z = SUBVOLUME_Z.stop - 1
    assert (
        roi_class_map(phantom.read_channel("roi_labels", (z, z + 1), box.y, box.x)) == cls
    ).mean() >= 0.95


def test_every_region_has_room_for_subvolumes_b_c_d(phantom):
    boxes = compute_subvolumes(phantom)
    for region in REGIONS:
        assert set(boxes[region]) == {"A", "B", "C", "D"}
        cls = REGIONS.index(region)
        for letter in "BCD":
            box = boxes[region][letter]
            assert not box.overlaps(SUBVOLUME_A[region])
            roi = phantom.read_channel("roi_labels", (290, 291), box.y, box.x)
            assert (roi_class_map(roi) == cls).mean() >= 0.95


def test_regions_differ_like_the_real_ones(phantom):
    fractions = {}
    for region in REGIONS:
        box = SUBVOLUME_A[region]
        labels = phantom.read_channel("pixel_labels", (200, 201), box.y, box.x)
        fractions[region] = {
            k: (labels == v).mean() for k, v in (("vessel", VESSEL), ("cell", CELL), ("axon", AXON))
        }
    assert fractions["cortex"]["axon"] == 0 and fractions["zona_incerta"]["axon"] == 0
    assert fractions["striatum"]["axon"] > 0.08 and fractions["thalamus"]["axon"] > 0.35
    assert fractions["zona_incerta"]["cell"] > 1.5 * fractions["cortex"]["cell"]
    assert all(f["vessel"] > 0.005 and f["cell"] > 0.005 for f in fractions.values())


def test_outside_tissue_is_clear_and_dark(phantom):
    block = phantom.read((300, 302), (0, 40), (2000, 2100))
    assert (block.roi_labels == 0).all() and (block.pixel_labels == 0).all()
    assert block.image.mean() < 20


def test_whole_slice_roi_read(phantom):
    roi = phantom.read_channel("roi_labels", (290, 291), (0, 1420), (0, 5805))[0]
    assert set(np.unique(roi)) == set(range(9))


@pytest.mark.parametrize("seed", [-1, 1.5, "abc", True])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed"):
        open_source("phantom", seed=seed)


def test_out_of_range_read(phantom):
    with pytest.raises(ConfigError, match="outside"):
        phantom.read_channel("image", (700, 730), (0, 10), (0, 10))
    # a reversed or empty range is said to be empty, not outside the volume
    for z in ((130, 110), (5, 5)):
        with pytest.raises(ConfigError, match=rf"z range {z[0]}:{z[1]} is empty"):
            phantom.read_channel("image", z, (0, 10), (0, 10))


def test_pickles_for_workers(phantom):
    import pickle

    z, y, x = (50, 52), (600, 640), (2500, 2540)
    expected = phantom.read(z, y, x)
    clone = pickle.loads(pickle.dumps(phantom))
    assert clone.describe() == phantom.describe()
    assert np.array_equal(clone.read(z, y, x).image, expected.image)


@pytest.mark.parametrize(("axis", "value"), [("z", 0.5), ("z", 2.0), ("y", np.float32(4)),
                                             ("x", "4"), ("x", True)])
def test_a_read_range_of_non_integers_is_refused_naming_the_axis(phantom, axis, value):
    """``int()`` truncated them: (0.5, 2) read slices 0 and 1 where 0.5 was asked."""
    ranges = {"z": (0, 2), "y": (0, 8), "x": (0, 8)}
    lo, hi = ranges[axis]
    ranges[axis] = (value, hi) if axis != "x" else (lo, value)
    with pytest.raises(ConfigError, match=rf"^{axis}: expected integer voxel indices, got "):
        phantom.read_channel("image", ranges["z"], ranges["y"], ranges["x"])


def test_numpy_integer_read_ranges_are_voxel_indices(phantom):
    block = phantom.read_channel("image", (np.int64(3), np.int32(5)), (np.uint16(0), 8), (0, 8))
    np.testing.assert_array_equal(block, phantom.read_channel("image", (3, 5), (0, 8), (0, 8)))
