import numpy as np
import pytest
import torch
from grid_source import GridSource

from mtneuro.data.datasets import RegionTileDataset, SegmentationTileDataset
from mtneuro.data.spec import REGIONS, SUBVOLUME_A, TILE_SIZE, Box, ZRange, roi_class_map
from mtneuro.data.subvolumes import compute_subvolumes, window_fractions
from mtneuro.data.tiles import (
    block_starts,
    majority_region_class,
    read_block_channels,
    single_slice_windows,
)
from mtneuro.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def source():
    return GridSource()


def test_window_fractions_known_answer():
    mask = np.zeros((8, 8), bool)
    mask[:4, :4] = True
    frac = window_fractions(mask, size=4, grid=2)
    assert frac.shape == (3, 3)
    assert frac[0, 0] == 1.0 and frac[1, 1] == 0.25 and frac[2, 2] == 0.0


def test_subvolumes_known_answer(source):
    boxes = compute_subvolumes(source)
    assert boxes["cortex"]["A"] == SUBVOLUME_A["cortex"]
    # nearest 64-grid window to cortex box A that is >=95% cortex and disjoint from A:
    assert boxes["cortex"]["B"] == Box(x=(4608, 4864), y=(640, 896))
    everything = [b for region in boxes.values() for b in region.values()]
    for i, a in enumerate(everything):
        for b in everything[i + 1 :]:
            assert not a.overlaps(b)
    for cls, region in enumerate(REGIONS):
        for box in boxes[region].values():
            roi = source.read_channel("roi_labels", (110, 111), box.y, box.x)
            assert (roi_class_map(roi) == cls).mean() >= 0.95


def test_subvolumes_need_roi_labels(source):
    class NoRoi(GridSource):
        def __init__(self):
            super().__init__()
            self.channels = ("image",)

    with pytest.raises(DataError, match="no roi_labels"):
        compute_subvolumes(NoRoi())


def test_block_starts_and_bad_step():
    assert block_starts(ZRange(110, 130), 8).tolist() == [110, 118]
    assert block_starts(ZRange(110, 120), 1, z_step=3).tolist() == [110, 113, 116, 119]
    with pytest.raises(ConfigError, match="z_step"):
        block_starts(ZRange(0, 4), 1, z_step=0)


class CountingGrid(GridSource):
    """GridSource recording every request's z range."""

    def __init__(self, cheap: bool):
        super().__init__()
        self.cheap_requests, self.requests = cheap, []

    def _read(self, channel, z, y, x):
        self.requests.append((channel, tuple(z)))
        return super()._read(channel, z, y, x)


@pytest.mark.parametrize("depth", [1, 8])
def test_blocks_read_from_a_cheap_source_skip_the_slices_between_them(depth):
    """Known answer: image = (z + y + x) mod 256, so each block's first row names its z.
    A cheap source (the phantom) is asked for the kept slices only, per run of adjacent
    blocks, image and labels of a run one after the other; another source for one span."""
    box = SUBVOLUME_A["cortex"]
    starts = np.concatenate([block_starts(ZRange(110, 190), depth, 3),
                             np.arange(300, 300 + 3 * depth, depth)])  # 3 adjacent blocks
    expected_z = starts[:, None] + np.arange(depth)
    reads = {}
    for cheap in (True, False):
        source = CountingGrid(cheap)
        reads[cheap] = read_block_channels(source, ("image", "pixel_labels"), box, starts, depth)
        image = reads[cheap]["image"]
        assert image.shape == (len(starts), depth, *box.shape)
        assert np.array_equal(image[:, :, 0, 0], (expected_z + box.y[0] + box.x[0]) % 256)
        channels = [c for c, _ in source.requests]
        assert channels == ["image", "pixel_labels"] * (len(source.requests) // 2)
        if cheap:
            asked = sum(z1 - z0 for c, (z0, z1) in source.requests if c == "image")
            assert asked == len(starts) * depth  # no skipped slice asked for
            assert source.requests[-1] == ("pixel_labels", (300, 300 + 3 * depth))
        else:
            assert source.requests == [(c, (110, 300 + 3 * depth)) for c in channels]
    assert all(np.array_equal(reads[True][c], reads[False][c]) for c in reads[True])


def test_majority_region_class():
    roi = np.zeros((3, 4, 4), np.uint8)
    roi[0] = 2  # striatum
    roi[1, :3] = 8  # corpus callosum -> striatum class, majority
    roi[1, 3] = 1
    roi[2] = 6  # internal capsule -> zona incerta class
    assert majority_region_class(roi).tolist() == [1, 1, 3]


def test_majority_region_class_breaks_ties_as_the_reference_torch_mode():
    """The reference labels a tile ``torch.mode(mask.flatten())`` (``bossdbdataset.py``
    ``_get_img_label``), which takes the smallest of tied ids; ids of different regions tie
    on small blocks, e.g. half cortex (1), half striatum (2) -> cortex."""
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 9, size=(400, 2, 3)).astype(np.uint8)  # 6 voxels: many ties
    blocks[0] = [[2, 2, 2], [1, 1, 1]]
    reference = [int(torch.mode(torch.from_numpy(b.astype(np.int64)).flatten())[0]) for b in blocks]
    assert majority_region_class(blocks).tolist() == roi_class_map(np.array(reference)).tolist()
    assert majority_region_class(blocks[:1]).tolist() == [0]


def test_region_tiles_2d(source):
    ds = RegionTileDataset(source, "roi-c1", "train", "2d", z_step=50)
    starts = list(range(110, 379, 50))
    assert len(ds) == 4 * len(starts)
    assert ds.labels.tolist() == [c for c in range(4) for _ in starts]
    item = ds[len(starts)]  # first striatum tile
    assert item["image"].shape == (1, TILE_SIZE, TILE_SIZE) and item["image"].dtype == torch.float32
    box = SUBVOLUME_A["striatum"]
    expected = source.read_channel("image", (110, 111), box.y, box.x)[0] / 255.0
    assert torch.allclose(item["image"][0], torch.from_numpy(expected).float())
    assert item["label"] == 1 and item["z"] == 110


def test_region_tiles_3d_and_test_split(source):
    ds = RegionTileDataset(source, "roi-c1", "test", "3d")
    assert ds.images.shape == (4 * 6, 1, 8, TILE_SIZE, TILE_SIZE)  # 50 slices -> 6 blocks of 8
    assert ds.z[:6].tolist() == [420, 428, 436, 444, 452, 460]


def test_region_c3_uses_subvolume_b(source):
    ds = RegionTileDataset(source, "roi-c3", "train", z_step=120)
    # A train (110..379 step 120 -> 3 slices) + B (110..470 step 120 -> 3 slices), 4 regions
    assert len(ds) == 4 * 3 + 4 * 3


def test_single_slice_protocol(source):
    class OneSlice(GridSource):
        def __init__(self):
            super().__init__(shape=(1, 1420, 5805))
            self.channels = ("image",)

    one = OneSlice()
    train = RegionTileDataset(one, "roi-c1", "train")
    test = RegionTileDataset(one, "roi-c1", "test")
    assert train.images.shape[1:] == (1, 64, 64) and len(train) == 4 * 21 and len(test) == 4 * 7
    windows = {s: single_slice_windows(SUBVOLUME_A["cortex"], s) for s in ("train", "val", "test")}
    for a in windows["train"]:
        assert not any(a.overlaps(b) for b in windows["test"] + windows["val"])
    with pytest.raises(ConfigError, match="one slice"):
        RegionTileDataset(one, "roi-c2", "test")


def test_segmentation_tiles_label_maps(source):
    four = SegmentationTileDataset(source, classes=4, split="val", z_step=10)
    three = SegmentationTileDataset(source, classes=3, split="val", z_step=10)
    assert four.regions == ("cortex", "striatum", "thalamus") and len(three.regions) == 4
    item = four[0]
    assert item["mask"].dtype == torch.int64 and item["mask"].shape == (TILE_SIZE, TILE_SIZE)
    # held as bytes (a class fits in one; int64 masks took 8x the images' memory)
    assert four.masks.dtype == np.uint8 and four.arrays()[1].dtype == np.uint8
    raw = source.read_channel("pixel_labels", (380, 381), SUBVOLUME_A["cortex"].y, SUBVOLUME_A["cortex"].x)[0]
    assert np.array_equal(four.masks[0], raw)
    assert np.array_equal(three.masks[0], np.where(raw == 3, 0, raw))
    three_d = SegmentationTileDataset(source, classes=3, split="test", dim="3d", z_step=3)
    assert three_d.images.shape[1:] == (1, 8, TILE_SIZE, TILE_SIZE) and three_d.masks.shape[1:] == (8, TILE_SIZE, TILE_SIZE)


@pytest.mark.parametrize(("height", "width", "size", "grid"),
                         [(37, 53, 8, 4), (64, 70, 16, 16), (40, 41, 12, 5), (9, 9, 9, 3)])
def test_window_fractions_equal_a_direct_count(height, width, size, grid):
    """Windows of whole grid cells (size a multiple of grid) are summed from per-cell counts,
    others from a per-pixel table; both must give every window's own count exactly."""
    mask = np.random.default_rng(height).random((height, width)) < 0.4
    corners_y, corners_x = range(0, height - size + 1, grid), range(0, width - size + 1, grid)
    direct = np.array([[mask[y:y + size, x:x + size].sum() for x in corners_x]
                       for y in corners_y]) / float(size * size)
    np.testing.assert_array_equal(window_fractions(mask, size, grid), direct)
