"""Tile splits a process has read are reused, not read again (mtneuro.data.tile_cache): a
second identical dataset reads nothing, any parameter that changes the arrays reads, a run
scores the same with and without the memory, and no consumer can change what the next gets."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from grid_source import GridSource

from mtneuro.data import tile_cache
from mtneuro.data.datasets import RegionTileDataset, SegmentationTileDataset
from mtneuro.data.sources import open_source
from mtneuro.data.sources.phantom import PhantomSource
from mtneuro.errors import ConfigError
from mtneuro.tasks import volume
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_task import TASK1


class KeyedGrid(GridSource):
    """The analytic grid volume, saying its bytes are its own (as the phantom does), counting
    the reads of every instance; one request per block, as the phantom's."""

    cheap_requests = True
    reads: ClassVar[list[tuple[Any, ...]]] = []

    def content_key(self) -> Any:
        return (type(self), self.shape)

    def _read(self, channel, z, y, x):
        KeyedGrid.reads.append((channel, z, y, x))
        return super()._read(channel, z, y, x)


class CountingPhantom(PhantomSource):
    reads: ClassVar[list[tuple[Any, ...]]] = []

    def _read(self, channel, z, y, x):
        CountingPhantom.reads.append((channel, z, y, x))
        return super()._read(channel, z, y, x)


@pytest.fixture(autouse=True)
def _empty_memory():
    tile_cache.clear()
    KeyedGrid.reads.clear()
    CountingPhantom.reads.clear()
    yield
    tile_cache.clear()


def _fresh(make):
    """What ``make()`` gives with nothing kept, and leaving nothing kept."""
    kept = list(tile_cache.SPLITS.items())
    tile_cache.clear()
    try:
        return make()
    finally:
        tile_cache.clear()
        for key, arrays in reversed(kept):
            tile_cache.SPLITS.keep(key, arrays)


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def _region(ds: RegionTileDataset) -> dict[str, np.ndarray]:
    return {"images": ds.images, "labels": ds.labels, "z": ds.z}


def _segmentation(ds: SegmentationTileDataset) -> dict[str, np.ndarray]:
    return {k: getattr(ds, k) for k in ("images", "masks", "region", "z", "scored_from")}


# -- (1) a second identical read reads nothing ------------------------------------------------
def test_a_second_identical_region_split_reads_nothing_and_gives_the_same_arrays():
    first = RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=8, progress=False)
    read = len(KeyedGrid.reads)
    assert read > 0
    again = RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=8, progress=False)
    assert len(KeyedGrid.reads) == read  # another instance of the same source: no read
    assert _same(_region(again), _region(first))


def test_a_second_identical_segmentation_split_reads_nothing():
    first = SegmentationTileDataset(KeyedGrid(), 4, "test", z_step=5, progress=False)
    read = len(KeyedGrid.reads)
    again = SegmentationTileDataset(KeyedGrid(), 4, "test", z_step=5, progress=False)
    assert len(KeyedGrid.reads) == read > 0 and _same(_segmentation(again), _segmentation(first))


def test_the_phantom_the_bench_opens_by_name_is_read_once_per_split(monkeypatch):
    calls: list[tuple[Any, ...]] = []
    render = PhantomSource._read

    def counted(self, channel, z, y, x):
        calls.append((channel, z))
        return render(self, channel, z, y, x)

    monkeypatch.setattr(PhantomSource, "_read", counted)
    first, _ = volume.load_region_splits("phantom", {"seed": 0}, "roi-c1", "2d", 64, ("val",))
    assert calls
    read = len(calls)
    again, _ = volume.load_region_splits("phantom", {"seed": 0}, "roi-c1", "2d", 64, ("val",))
    assert len(calls) == read
    assert np.array_equal(again["val"].images, first["val"].images)
    assert np.array_equal(again["val"].labels, first["val"].labels)


# -- (2) a parameter that changes the arrays reads --------------------------------------------
@pytest.mark.parametrize("change", [
    {"split": "test"}, {"z_step": 12}, {"dim": "3d"}, {"setting": "roi-c2"}])
def test_another_region_parameter_reads(change):
    values = {"setting": "roi-c1", "split": "val", "dim": "2d", "z_step": 8}
    RegionTileDataset(KeyedGrid(), **values, progress=False)
    read = len(KeyedGrid.reads)
    RegionTileDataset(KeyedGrid(), **values, progress=False)
    assert len(KeyedGrid.reads) == read  # the same parameters: from memory
    other = RegionTileDataset(KeyedGrid(), **{**values, **change}, progress=False)
    assert len(KeyedGrid.reads) > read
    assert _same(_region(other), _fresh(lambda: _region(
        RegionTileDataset(KeyedGrid(), **{**values, **change}, progress=False))))


@pytest.mark.parametrize("change", [
    {"split": "val"}, {"z_step": 8}, {"classes": 3}, {"regions": ["cortex"]}, {"dim": "3d"},
    {"dim": "3d", "depth": 4}])
def test_another_segmentation_parameter_reads(change):
    values = {"classes": 4, "split": "test", "z_step": 5}
    SegmentationTileDataset(KeyedGrid(), **values, progress=False)
    read = len(KeyedGrid.reads)
    SegmentationTileDataset(KeyedGrid(), **values, progress=False)
    assert len(KeyedGrid.reads) == read  # the same parameters: from memory
    SegmentationTileDataset(KeyedGrid(), **{**values, **change}, progress=False)
    assert len(KeyedGrid.reads) > read


def test_another_phantom_seed_or_source_class_reads():
    RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "val", z_step=64, progress=False)
    seed0 = len(tile_cache.SPLITS)
    RegionTileDataset(open_source("phantom", seed=1), "roi-c1", "val", z_step=64, progress=False)
    assert len(tile_cache.SPLITS) == seed0 + 1  # not taken from seed 0's
    RegionTileDataset(CountingPhantom(), "roi-c1", "val", z_step=64, progress=False)
    assert CountingPhantom.reads  # a subclass may serve other bytes: its own entry


def test_a_source_without_a_content_key_is_read_every_time():
    class Counting(GridSource):
        reads = 0

        def _read(self, channel, z, y, x):
            Counting.reads += 1
            return super()._read(channel, z, y, x)

    counts = []
    for _ in range(2):
        RegionTileDataset(Counting(), "roi-c1", "val", z_step=8, progress=False)
        RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=8, progress=False)
        counts.append((Counting.reads, len(KeyedGrid.reads)))
    # read again from the grid that says nothing of its bytes, not from the one that does
    (counting, keyed), again = counts
    assert again == (2 * counting, keyed) and counting > 0
    assert len(tile_cache.SPLITS) == 1


def test_a_bad_step_still_fails_where_an_equal_good_one_was_kept():
    for _ in range(2):
        RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=1, progress=False)
    assert len(tile_cache.SPLITS) == 1  # kept, and taken by the second
    for bad in (True, 1.0):  # equal to 1 as keys, refused as steps
        with pytest.raises(ConfigError, match="z_step: expected int >= 1"):
            RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=bad, progress=False)


def test_a_sparser_step_is_taken_from_a_kept_read_only_where_its_requests_were_the_same():
    # task 3's pre-training reads at 16 the training tiles task 1 read at 8
    RegionTileDataset(KeyedGrid(), "roi-c3", "train", z_step=8, progress=False)
    read = len(KeyedGrid.reads)
    sparse = RegionTileDataset(KeyedGrid(), "roi-c3", "train", z_step=16, progress=False)
    assert len(KeyedGrid.reads) == read
    assert _same(_region(sparse), _fresh(lambda: _region(
        RegionTileDataset(KeyedGrid(), "roi-c3", "train", z_step=16, progress=False))))
    # step 1 reads runs of adjacent blocks at once: not what a read at 2 asks for
    RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=1, progress=False)
    read = len(KeyedGrid.reads)
    RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=2, progress=False)
    assert len(KeyedGrid.reads) > read


def test_the_phantoms_sparser_step_from_memory_is_the_bytes_a_read_gives():
    RegionTileDataset(CountingPhantom(), "roi-c1", "train", z_step=32, progress=False)
    read = len(CountingPhantom.reads)
    sparse = RegionTileDataset(CountingPhantom(), "roi-c1", "train", z_step=64, progress=False)
    assert len(CountingPhantom.reads) == read
    fresh = _fresh(lambda: RegionTileDataset(open_source("phantom", seed=0), "roi-c1", "train",
                                             z_step=64, progress=False))
    assert _same(_region(sparse), _region(fresh))


# -- (3) a run scores the same with and without the memory ------------------------------------
def test_a_task1_run_is_the_same_with_and_without_kept_splits(monkeypatch):
    monkeypatch.setattr(volume, "open_source", lambda name, **params: KeyedGrid())
    config = TASK1.make_config("quick", {"method": "pca", "seeds": [0]})

    def scores() -> dict[str, Any]:
        out = run_task1(config)
        return {k: v for k, v in out.items() if k != "wall_s"}

    monkeypatch.setattr(tile_cache.SPLITS, "max_entries", 0)  # keeps nothing
    without = scores()
    read = len(KeyedGrid.reads)
    monkeypatch.setattr(tile_cache.SPLITS, "max_entries", tile_cache.MAX_ENTRIES)
    first = scores()
    assert len(KeyedGrid.reads) == 2 * read
    again = scores()
    assert len(KeyedGrid.reads) == 2 * read  # every split from memory
    assert repr(again) == repr(first) == repr(without)


# -- (4) no consumer changes what the next one gets -------------------------------------------
def test_writing_into_a_split_changes_no_later_one():
    make = lambda: RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=8,
                                     progress=False)
    truth = _fresh(lambda: {k: v.copy() for k, v in _region(make()).items()})
    KeyedGrid.reads.clear()
    for turn in range(3):  # the read one, then two from memory
        ds = make()
        if turn == 0:
            read = len(KeyedGrid.reads)
        assert len(KeyedGrid.reads) == read
        assert _same(_region(ds), truth)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # writable: no "non-writable array" warning
            torch.from_numpy(ds.images).fill_(7)
        ds.labels[:] = 3
        ds.z += 1
    seg = SegmentationTileDataset(KeyedGrid(), 4, "test", z_step=5, progress=False)
    want = {k: v.copy() for k, v in _segmentation(seg).items()}
    seg.masks[:] = 9
    seg.scored_from[:] = 5
    assert _same(_segmentation(SegmentationTileDataset(KeyedGrid(), 4, "test", z_step=5,
                                                       progress=False)), want)


def test_kept_arrays_are_read_only():
    RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=8, progress=False)
    RegionTileDataset(KeyedGrid(), "roi-c1", "val", z_step=16, progress=False)  # derived
    entries = list(tile_cache.SPLITS.items())
    assert len(entries) == 2
    for _, arrays in entries:
        for array in arrays.values():
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[...] = 0


# -- bounds --------------------------------------------------------------------------------
def test_the_memory_forgets_the_least_recently_used_split_past_its_bounds():
    memory = tile_cache.SplitMemory(max_entries=2, max_bytes=100)
    arrays = lambda n: {"images": np.zeros(n, np.uint8)}
    memory.keep("a", arrays(10))
    memory.keep("b", arrays(10))
    assert memory.recall("a") is not None  # "a" now the most recent
    memory.keep("c", arrays(10))
    assert memory.recall("b") is None and len(memory) == 2
    memory.keep("d", arrays(85))  # three entries: "a", the oldest use, goes
    assert [key for key, _ in memory.items()] == ["d", "c"] and memory.nbytes == 95
    memory.keep("f", arrays(20))  # two entries, but 105 bytes: "c", then "d" go
    assert [key for key, _ in memory.items()] == ["f"] and memory.nbytes == 20
    memory.keep("e", arrays(101))  # larger than the whole budget: not kept
    assert memory.recall("e") is None and len(memory) == 1
    none = tile_cache.SplitMemory(max_entries=0)
    none.keep("a", arrays(1))
    assert len(none) == 0
