"""``data verify --repair`` rewrites damaged cache metadata under the cache's directory lock,
the lock that opening a cache holds while it reads the metadata: it waits for a holder, and a
repair that holder made meanwhile is not made again."""

from __future__ import annotations

import threading
import time

from mtneuro.cli import data_cache
from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache_lock import directory_lock
from mtneuro.data.sources.cache_metadata import check_metadata, write_metadata
from mtneuro.data.sources.cache_store import ChunkStore

HOLD_S = 0.5


def test_metadata_repair_waits_for_the_lock_and_skips_a_repair_made_meanwhile(
        tmp_path, array_source, monkeypatch, capsys):
    root = tmp_path / "c"
    open_source("cache", root=root, upstream=array_source, chunk_shape=(8, 128, 128))
    (root / "zarr.json").write_text('{"zarr_format": 3, "node_ty')  # torn write
    stale = check_metadata(root)
    assert stale.damaged == ["zarr.json"]
    rewrites = []
    real_repair = ChunkStore.repair_metadata
    monkeypatch.setattr(ChunkStore, "repair_metadata", classmethod(
        lambda cls, root, check: rewrites.append(check.damaged) or real_repair(root, check)))
    held, released = threading.Event(), []

    def other_process_repairs() -> None:  # flock: another descriptor conflicts as a process
        with directory_lock(root, make=False):
            held.set()
            time.sleep(HOLD_S)
            write_metadata(root, stale.spec, stale.damaged)
            released.append(time.monotonic())

    holder = threading.Thread(target=other_process_repairs)
    holder.start()
    assert held.wait(10)
    data_cache._check_metadata(root, stale, repair=True)
    returned = time.monotonic()
    holder.join()
    assert released and returned >= released[0]  # waited for the holder
    assert rewrites == []  # found whole under the lock: nothing rewritten twice
    assert "repaired meanwhile by another process" in capsys.readouterr().out
    assert not check_metadata(root).damaged
    open_source("cache", root=root)  # opens


def test_metadata_repair_rewrites_what_is_still_damaged_under_the_lock(tmp_path, array_source,
                                                                       capsys):
    root = tmp_path / "c"
    open_source("cache", root=root, upstream=array_source, chunk_shape=(8, 128, 128))
    (root / "zarr.json").write_text("{")
    data_cache._check_metadata(root, check_metadata(root), repair=True)
    assert "rewrote metadata zarr.json" in capsys.readouterr().out
    assert not check_metadata(root).damaged
