"""The per-chunk lock registry of a process (``cache_lock._held``) is left empty once a cache
is filled, read or repaired, and after a lock was found busy: an entry is removed when its
last user leaves, so a long run over many chunks does not keep one entry per chunk forever."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lock_holder import lock_held_by_another_thread

from mtneuro.data.sources import cache_lock, open_source
from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_lock import chunk_lock, lock_path

CHUNKS = (8, 128, 128)  # 32 chunks per channel of the 16 x 512 x 512 volume


def _entries_under(root: Path) -> list[Path]:
    """Lock paths of ``root`` still registered in this process (thread locks and files)."""
    held = cache_lock._held  # looked up now: a fork replaces the registry
    with held.mutex:
        return [p for p in held.threads if root in p.parents]


def _open_files() -> int:
    held = cache_lock._held
    with held.mutex:
        return len(held.files)


def test_filling_reading_and_repairing_leave_no_registry_entry(tmp_path, array_source, volume):
    root = tmp_path / "c"
    files_before = _open_files()
    cache = open_source("cache", root=root, upstream=array_source, chunk_shape=CHUNKS,
                        workers=4)
    report = cache.fill(z=(0, 8), channels=["image"])
    assert report.fetched == 16 and _entries_under(root) == []
    # a read through the cache locks and fetches the chunks still missing
    cache.read_channel("image", (0, 16), (0, 256), (0, 256))
    assert _entries_under(root) == []
    store = cache.store
    store.chunk_path("image", (0, 1, 1)).write_bytes(b"garbage")
    store.chunk_path("image", (1, 0, 0)).unlink()
    fresh = CacheSource(root, upstream=array_source, workers=4)
    assert fresh.repair(fresh.scan()) == 2
    assert _entries_under(root) == [] and _open_files() == files_before


def test_a_busy_lock_and_its_holder_leave_no_registry_entry(tmp_path):
    chunk = tmp_path / "image" / "c" / "0" / "0" / "0"
    path = lock_path(chunk)
    with lock_held_by_another_thread(chunk) as holder:
        assert cache_lock._held.threads[path][1] == 1  # the holder is its one user
        with chunk_lock(chunk, wait=False) as held:
            assert held is False  # busy: not waited for
        assert cache_lock._held.threads[path][1] == 1  # the busy try left again
    assert not holder.is_alive()
    assert path not in cache_lock._held.threads and _entries_under(tmp_path) == []


@pytest.mark.parametrize("wait", [True, False])
def test_a_lock_taken_in_turn_by_threads_leaves_no_entry(tmp_path, wait):
    chunk = tmp_path / "image" / "c" / "0" / "0" / "1"
    results: list[bool] = []

    def take() -> None:
        for _ in range(20):
            with chunk_lock(chunk, wait=wait) as held:
                results.append(held)

    threads = [threading.Thread(target=take) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 60 and (not wait or all(results))
    assert _entries_under(tmp_path) == []
