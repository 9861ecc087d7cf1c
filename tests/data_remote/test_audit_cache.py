"""Known answers for cache pieces a mutation audit found untested: the decoded-chunk memory
(least recently used out, bytes accounted), the metadata spec checks, the upstream match,
and what a failed first fill leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from array_source import ArraySource, random_volume

from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_fetch import fill_cache
from mtneuro.data.sources.cache_memory import ChunkMemory
from mtneuro.data.sources.cache_metadata import (
    MANIFEST,
    check_metadata,
    group_metadata,
    manifest,
)
from mtneuro.errors import ConfigError, DataError

SMALL = (2, 8, 8)
CHUNKS = (1, 4, 4)  # 2 x 2 x 2 = 8 chunks per channel


def chunk(value: int, nbytes: int = 100) -> np.ndarray:
    return np.full(nbytes, value, dtype=np.uint8)


# ------------------------------------------------------------------ memory
def test_memory_evicts_the_least_recently_used_chunk():
    memory = ChunkMemory(max_bytes=300)
    for k in range(3):
        memory.put(("image", (k, 0, 0)), chunk(k))
    assert memory.get_many("image", [(0, 0, 0)]).keys() == {(0, 0, 0)}  # 0 is now the newest
    memory.put(("image", (3, 0, 0)), chunk(3))
    held = memory.get_many("image", [(k, 0, 0) for k in range(4)])
    assert sorted(held) == [(0, 0, 0), (2, 0, 0), (3, 0, 0)]  # 1 was the least recent
    assert memory._bytes == 300


def test_memory_counts_a_replaced_or_dropped_chunk_once():
    memory = ChunkMemory(max_bytes=300)
    for _ in range(3):
        memory.put(("image", (0, 0, 0)), chunk(0))
    assert memory._bytes == 100
    memory.put(("image", (1, 0, 0)), chunk(1))
    memory.put(("image", (2, 0, 0)), chunk(2))
    assert len(memory.get_many("image", [(k, 0, 0) for k in range(3)])) == 3  # nothing evicted
    memory.drop(("image", (1, 0, 0)))
    memory.drop(("image", (1, 0, 0)))  # dropping an absent chunk changes nothing
    assert memory._bytes == 200
    memory.put(("image", (3, 0, 0)), chunk(3))
    assert len(memory.get_many("image", [(k, 0, 0) for k in range(4)])) == 3


# ------------------------------------------------------------------ metadata
@pytest.fixture
def small_cache(tmp_path) -> CacheSource:
    upstream = ArraySource(random_volume(SMALL, seed=2))
    return CacheSource(tmp_path / "c", upstream=upstream, chunk_shape=CHUNKS)


def _write(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc))


def test_an_edited_manifest_without_its_digest_is_not_trusted(small_cache):
    """The manifest's spec is trusted only when its SHA-256 holds: an edit that left the
    digest alone is damage, and the spec comes from the group attributes instead."""
    root = small_cache.root
    good = check_metadata(root).spec
    doc = json.loads((root / MANIFEST).read_text())
    doc["spec"]["shape"] = [4, 8, 8]  # another volume, same digest
    _write(root / MANIFEST, doc)
    check = check_metadata(root)
    assert check.spec == good and check.damaged == [MANIFEST]


def _both_copies(root: Path, spec: dict) -> None:
    """Record ``spec`` consistently in the manifest (valid digest) and the group."""
    _write(root / MANIFEST, manifest(spec))
    _write(root / "zarr.json", group_metadata(spec))


@pytest.mark.parametrize("channels", [["../outside"], ["image", "image"], []])
def test_a_spec_naming_unsafe_or_duplicate_channels_is_unreadable(small_cache, channels):
    """Channel names become paths: one that is no known channel is never trusted."""
    spec = {**check_metadata(small_cache.root).spec, "channels": channels}
    _both_copies(small_cache.root, spec)
    assert check_metadata(small_cache.root).spec is None
    with pytest.raises(DataError, match="not a readable mtneuro cache"):
        CacheSource(small_cache.root)


def test_a_cache_of_an_unknown_format_is_refused(small_cache):
    root = small_cache.root
    spec = check_metadata(root).spec
    (root / MANIFEST).unlink()
    _write(root / "zarr.json", group_metadata({**spec, "format": 3}))
    check = check_metadata(root)
    assert check.spec is None and "format 3 is unknown" in check.problem


def test_a_creation_killed_before_its_manifest_leaves_a_repairable_cache(tmp_path, monkeypatch):
    """The manifest is written last, so a creation killed at that write leaves group and
    array metadata from which verify completes the cache."""
    from mtneuro.data.sources import cache_metadata

    real = cache_metadata.atomic_write

    def killed_at_manifest(path: Path, data: bytes) -> None:
        if path.name == MANIFEST:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(cache_metadata, "atomic_write", killed_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        CacheSource(tmp_path / "k", upstream=ArraySource(random_volume(SMALL)),
                    chunk_shape=CHUNKS)
    check = check_metadata(tmp_path / "k")
    assert check.spec is not None and check.spec["chunk_shape"] == list(CHUNKS)
    assert check.damaged == [MANIFEST]


# ------------------------------------------------------------------ upstream match
class TunedArray(ArraySource):
    """An array source with a transport parameter (like bossdb's workers) and a data one."""

    transport_params = ("workers",)

    def __init__(self, volume: dict, workers: int = 1, seed: int = 0) -> None:
        super().__init__(volume)
        self.workers, self.seed = workers, seed

    def params(self) -> dict:
        return {"workers": self.workers, "seed": self.seed}


def test_an_upstream_may_differ_in_transport_only(tmp_path):
    volume = random_volume(SMALL, seed=4)
    root = tmp_path / "t"
    CacheSource(root, upstream=TunedArray(volume, workers=1), chunk_shape=CHUNKS)
    faster = CacheSource(root, upstream=TunedArray(volume, workers=8))
    np.testing.assert_array_equal(faster.read_channel("image", (0, 2), (0, 8), (0, 8)),
                                  volume["image"])
    with pytest.raises(ConfigError, match="does not match"):
        CacheSource(root, upstream=TunedArray(volume, seed=1))


def test_an_upstream_lacking_a_cached_channel_is_refused(small_cache):
    image_only = ArraySource({"image": random_volume(SMALL, seed=2)["image"]})
    with pytest.raises(ConfigError, match="does not match"):
        CacheSource(small_cache.root, upstream=image_only)


# ------------------------------------------------------------------ failed first fill
class FailsAfter(ArraySource):
    """Serves ``good`` reads, then raises ``error`` on every later one."""

    def __init__(self, volume: dict, good: int, error: BaseException) -> None:
        super().__init__(volume)
        self.good, self.error = good, error

    def _read(self, channel, z, y, x):
        if sum(self.reads.values()) >= self.good:
            raise self.error
        return super()._read(channel, z, y, x)


def test_a_first_fill_failing_after_some_chunks_keeps_them(tmp_path):
    """Stored chunks are kept so a rerun resumes: only a fill that stored none is undone."""
    volume = random_volume(SMALL, seed=5)
    upstream = FailsAfter(volume, good=3, error=DataError("server went away"))
    root = tmp_path / "f"
    with pytest.raises(DataError, match="went away"):
        fill_cache(root, upstream, chunk_shape=CHUNKS, workers=1, channels=["image"])
    cache = CacheSource(root, upstream=ArraySource(volume))
    report = cache.scan()
    assert (report.ok, report.bad) == (3, [])
    assert cache.fill(channels=["image"]).fetched == 8 - 3


def test_a_first_fill_interrupted_before_any_chunk_leaves_nothing(tmp_path):
    """Ctrl-C (not an Exception) during the first chunk still removes the new cache."""
    upstream = FailsAfter(random_volume(SMALL), good=0, error=KeyboardInterrupt())
    root = tmp_path / "i"
    with pytest.raises(KeyboardInterrupt):
        fill_cache(root, upstream, chunk_shape=CHUNKS, workers=1)
    assert not root.exists()
