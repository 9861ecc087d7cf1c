"""Task-2 3D z ranges are covered to their end: a range that is not a multiple of the block
depth ends with a block aligned to its end, and every test voxel is scored exactly once
(MTNeuro's bossdbdataset.py:185-200 starts a block at every 8th slice of the range, the last
one at slice 48 of the 50 test slices)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("monai", reason="needs mtneuro[seg]")

from grid_source import GridSource  # noqa: E402
from scale_net import ScaleNet  # noqa: E402

from mtneuro.data.datasets import SegmentationTileDataset  # noqa: E402
from mtneuro.data.sources import open_source  # noqa: E402
from mtneuro.data.spec import SUBVOLUME_A, Z_SPLITS, ZRange  # noqa: E402
from mtneuro.data.tiles import covering_starts  # noqa: E402
from mtneuro.errors import ConfigError  # noqa: E402
from mtneuro.tasks.segmentation import run as run_module  # noqa: E402
from mtneuro.tasks.segmentation.config import task2_config  # noqa: E402
from mtneuro.tasks.segmentation.metrics import ConfusionAccumulator  # noqa: E402
from mtneuro.tasks.segmentation.protocol import task2_card  # noqa: E402

TEST_SLICES = len(Z_SPLITS["test"])  # 50
TILE = 256 * 256


def _times_scored(z: ZRange, depth: int) -> np.ndarray:
    """How often each slice of ``z`` is scored by the blocks of :func:`covering_starts`."""
    starts, scored_from = covering_starts(z, depth)
    count = np.zeros(len(z), dtype=int)
    for start, first in zip(starts, scored_from):
        count[start - z.start + first:start - z.start + depth] += 1
    return count


@pytest.mark.parametrize("split", ["train", "val", "test"])
@pytest.mark.parametrize("depth", [1, 8, 16])
def test_every_slice_of_a_range_is_scored_once(split, depth):
    z = Z_SPLITS[split]
    if depth > len(z):
        pytest.skip("range shorter than a block")
    starts, _ = covering_starts(z, depth)
    assert _times_scored(z, depth).tolist() == [1] * len(z)
    assert starts.min() == z.start and starts.max() + depth == z.stop  # inside, to the end
    assert len(starts) == -(-len(z) // depth)  # as many blocks as the reference starts


def test_sampled_ranges_get_no_end_block():
    starts, scored_from = covering_starts(Z_SPLITS["test"], 8, z_step=2)
    assert starts.tolist() == [420, 436, 452] and not scored_from.any()


def _samples(source, classes: int, depth: int, regions: tuple[str, ...]):
    dim = "2d" if depth == 1 else "3d"
    return SegmentationTileDataset(source, classes, "test", dim, depth=depth, regions=regions,
                                   progress=False)


def test_the_end_block_is_read_from_the_range_end_on_the_phantom():
    source = open_source("phantom", seed=0)
    samples = _samples(source, 4, 8, ("cortex",))
    assert samples.images.shape == (7, 1, 8, 256, 256)
    assert samples.scored_from.tolist() == [0] * 6 + [6] and samples.end_blocks == 1
    box = SUBVOLUME_A["cortex"]
    last = source.read_channel("image", (462, 470), box.y, box.x)
    np.testing.assert_array_equal(samples.images[-1, 0], last)
    # the overlap is the same voxels in both blocks; the mask scores them once
    np.testing.assert_array_equal(samples.images[-1, 0, :6], samples.images[-2, 0, 2:])
    assert int(samples.scored().sum()) == TEST_SLICES * TILE


@pytest.mark.parametrize("depth", [1, 8, 16])
def test_every_sample_is_the_sources_voxels_at_its_start(depth):
    source, regions = GridSource(), ("cortex", "zona_incerta")
    samples = _samples(source, 3, depth, regions)
    starts, _ = covering_starts(Z_SPLITS["test"], depth)
    assert len(samples.images) == len(starts) * len(regions)
    for i, (region, start) in enumerate((r, z) for r in regions for z in starts):
        box = SUBVOLUME_A[region]
        image = source.read_channel("image", (int(start), int(start) + depth), box.y, box.x)
        np.testing.assert_array_equal(samples.images[i, 0], image if depth > 1 else image[0])
    if depth == 1:
        assert samples.scored() is None and samples.masks.shape == (len(starts) * 2, 256, 256)


def test_depth_is_refused_for_2d_samples():
    with pytest.raises(ConfigError, match="depth: 2d samples are single slices"):
        SegmentationTileDataset(GridSource(), 3, "test", "2d", depth=8, progress=False)


def test_overlapping_slices_count_once_in_the_scores():
    samples = _samples(GridSource(), 4, 8, ("cortex",))
    predictions = samples.masks.copy()
    predictions[-1, :6] = (predictions[-1, :6] + 1) % 4  # wrong only where already scored
    accumulator = ConfusionAccumulator(4)
    accumulator.update(predictions, samples.masks, samples.scored())
    assert accumulator.matrix.sum() == TEST_SLICES * TILE
    assert accumulator.scores()["pixel_accuracy"] == 1.0
    assert accumulator.n_images == 7


def _tiny_net(name, classes, dim, **kwargs):
    return ScaleNet(classes)


TINY_3D = {"model": "unet3d", "train_z_step": 20, "window": 256, "eval_batch_size": 8,
           "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1}}


@pytest.mark.parametrize(("depth", "blocks", "train_blocks"), [(None, 7, 2), (16, 4, 1)])
def test_a_3d_run_scores_every_test_voxel_once(monkeypatch, depth, blocks, train_blocks):
    monkeypatch.setattr(run_module, "create_segmentation_model", _tiny_net)
    config = task2_config(None, classes=4, depth=depth, **TINY_3D)
    out = run_module.run_task2(config, source=GridSource(), quiet=True)
    m, side = out["metrics"], depth or 8
    # the last example of a region is its last block whose middle slice (the overlay's) is
    # scored there: not the end block, which scores only its last slices
    starts, scored_from = covering_starts(Z_SPLITS["test"], side)
    last_full = int(starts[scored_from <= side // 2].max())
    assert out["examples"]["z"].max() == last_full < starts.max()
    assert m["n_test_tiles"] == 3 * blocks and m["window"] == [side, 256, 256]
    assert m["n_train_tiles"] == 3 * train_blocks and m["train_tile_shape"][1] == side
    cm = np.array(m["per_seed"][0]["scores"]["confusion_matrix"])
    assert cm.sum() == 3 * TEST_SLICES * TILE  # each test voxel of each region once
    assert m["blocks"] == {"depth": side, "end_blocks": {"train": 0, "test": 3},
                           "test_voxels_scored": 3 * TEST_SLICES * TILE}


def test_a_checkpoint_of_other_blocks_is_not_resumed(monkeypatch, tmp_path):
    monkeypatch.setattr(run_module, "create_segmentation_model", _tiny_net)
    small = {**TINY_3D, "test_z_step": 50}
    run_module.run_task2(task2_config(None, classes=4, **small), source=GridSource(),
                         checkpoint_dir=tmp_path, quiet=True)
    other = task2_config(None, classes=4, depth=16, **small)
    with pytest.raises(ConfigError, match="--resume: checkpoint .* different run"):
        run_module.run_task2(other, source=GridSource(), checkpoint_dir=tmp_path,
                             resume=True, quiet=True)


def test_the_card_says_how_3d_ranges_end():
    card = task2_card(task2_config("paper", model="unet3d", source="bossdb"))
    assert card["protocol"] == {"name": "task2-paper", "version": 2}
    (ends,) = [d for d in card["deviations"] if d.startswith("3D z ranges end")]
    assert "test [420, 470): 7 blocks per region, the last overlapping the one before by 6" in ends
    assert "train [110, 379): 34 blocks per region" in ends
    assert "bossdbdataset.py" in ends
    deep = task2_card(task2_config("paper", model="unet3d", depth=16))["deviations"]
    assert "3D block depth 16 (reference 8, task2_3D_*class.json:21 volume_z)" in deep
    sampled = task2_card(task2_config("quick", model="vnet", test_z_step=2))["deviations"]
    assert not any(d.startswith("3D z ranges end") for d in sampled)
    flat = task2_card(task2_config("paper", model="unet", source="bossdb"))
    assert flat["protocol"]["version"] == 1
    assert not any("3D" in d for d in flat["deviations"])
