"""The cache source: lazy fill, atomic checksummed chunks, corruption detection, resume."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from array_source import ArraySource, random_volume

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache import CacheSource
from mtneuro.errors import ConfigError, DataError

CHUNKS = (8, 128, 128)  # 2 x 4 x 4 = 32 chunks per channel of the 16 x 512 x 512 volume


@pytest.fixture
def cache(tmp_path, array_source) -> CacheSource:
    return open_source("cache", root=tmp_path / "c", upstream=array_source, chunk_shape=CHUNKS)


def test_reads_equal_the_upstream_and_fetch_only_needed_chunks(cache, array_source, volume):
    block = cache.read_channel("image", (3, 12), (100, 300), (120, 140))
    np.testing.assert_array_equal(block, volume["image"][3:12, 100:300, 120:140])
    # z 3:12 -> 2 chunks, y 100:300 -> 3, x 120:140 -> 2
    assert array_source.reads["image"] == 12
    again = cache.read_channel("image", (0, 16), (0, 512), (0, 512))
    np.testing.assert_array_equal(again, volume["image"])
    assert array_source.reads["image"] == 32 and array_source.reads["roi_labels"] == 0
    tile = cache.read_channel("image", (9, 10), (130, 250), (131, 255))  # inside one chunk
    np.testing.assert_array_equal(tile, volume["image"][9:10, 130:250, 131:255])
    tile[:] = 0  # a caller's copy: must not reach the cache
    np.testing.assert_array_equal(
        cache.read_channel("image", (9, 10), (130, 250), (131, 255)),
        volume["image"][9:10, 130:250, 131:255],
    )


def test_a_read_through_to_the_upstream_shows_progress_in_a_log(cache, monkeypatch, capsys):
    from mtneuro import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    cache.read_channel("image", (3, 12), (100, 300), (120, 140))
    err = capsys.readouterr().err
    assert f"cache c: fetching image from {cache.describe()['upstream']['source']}" in err
    assert "12/12 chunks" in err
    cache.read_channel("image", (3, 12), (100, 300), (120, 140))  # all cached: nothing to say
    assert capsys.readouterr().err == ""


def test_chunks_from_disk_decode_into_read_only_numpy_memory(cache, volume):
    cache.fill()
    status, chunk = cache.store.load("image", (1, 2, 3))
    assert status == "ok"
    np.testing.assert_array_equal(chunk, volume["image"][8:16, 256:384, 384:512])
    # numpy's own allocation (huge pages for large arrays), not a view of a bytes object;
    # read-only, so no caller can alter a verified chunk
    assert chunk.flags.owndata and not chunk.flags.writeable


def test_store_is_a_readable_zarr_v3_group(cache, volume):
    import zarr

    cache.fill(channels=["pixel_labels"])
    group = zarr.open_group(cache.root, mode="r")
    array = group["pixel_labels"]
    assert array.metadata.zarr_format == 3 and array.chunks == CHUNKS
    np.testing.assert_array_equal(array[:], volume["pixel_labels"])
    assert group.attrs["mtneuro_cache"]["upstream"]["source"] == "array"


def test_edge_chunks_of_an_uneven_volume(tmp_path):
    volume = random_volume((5, 70, 90), seed=3)
    cache = open_source(
        "cache", root=tmp_path / "u", upstream=ArraySource(volume), chunk_shape=(4, 32, 32)
    )
    np.testing.assert_array_equal(
        cache.read_channel("roi_labels", (0, 5), (0, 70), (0, 90)), volume["roi_labels"]
    )
    np.testing.assert_array_equal(
        cache.read_channel("roi_labels", (4, 5), (64, 70), (60, 90)),
        volume["roi_labels"][4:5, 64:70, 60:90],
    )


def test_corrupted_chunk_is_detected_and_refetched_on_read(cache, array_source, volume):
    cache.fill(channels=["image"])
    path = cache.store.chunk_path("image", (1, 2, 3))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    fresh = CacheSource(cache.root, upstream=array_source)  # nothing decoded in memory yet
    reads = array_source.reads["image"]
    np.testing.assert_array_equal(
        fresh.read_channel("image", (8, 16), (256, 384), (384, 512)),
        volume["image"][8:16, 256:384, 384:512],
    )
    assert array_source.reads["image"] == reads + 1
    assert fresh.store.status("image", (1, 2, 3)) == "ok"


def test_chunk_without_checksum_is_not_trusted(cache, array_source, volume):
    cache.fill(channels=["image"])
    cache.store.checksum_path("image", (0, 0, 0)).unlink()  # as if killed between the two writes
    fresh = CacheSource(cache.root, upstream=array_source)
    reads = array_source.reads["image"]
    np.testing.assert_array_equal(
        fresh.read_channel("image", (0, 1), (0, 8), (0, 8)), volume["image"][0:1, :8, :8]
    )
    assert array_source.reads["image"] == reads + 1


def test_fill_resumes_fetching_only_missing_or_bad_chunks(cache, array_source):
    first = cache.fill(z=(0, 8), channels=["image"])
    assert (first.fetched, first.present) == (16, 0)
    store = cache.store
    store.chunk_path("image", (0, 1, 1)).unlink()  # lost data (checksum left)
    store.checksum_path("image", (0, 2, 2)).unlink()  # interrupted write
    (store.chunk_path("image", (0, 3, 3)).parent / ".3.tmp-999-1").write_bytes(b"partial")
    reads = array_source.reads["image"]
    second = CacheSource(cache.root, upstream=array_source).fill(channels=["image"])
    assert (second.fetched, second.present) == (16 + 2, 14)
    assert array_source.reads["image"] == reads + 18


def test_scan_counts_and_repair(cache, array_source, volume):
    cache.fill(channels=["image", "roi_labels"])
    store = cache.store
    store.chunk_path("roi_labels", (1, 0, 0)).write_bytes(b"garbage")
    store.chunk_path("image", (0, 3, 1)).unlink()
    store.checksum_path("image", (1, 1, 1)).write_text("0" * 64 + " 5\n")
    left = store.chunk_path("image", (0, 0, 0)).parent / ".0.tmp-1-2"  # a killed writer's
    left.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))
    # a write in progress in another process: neither listed nor deleted under it
    writing = store.chunk_path("image", (0, 1, 0)).parent / ".0.tmp-2-3"
    writing.write_bytes(b"y")
    report = cache.scan()
    assert report.ok == 64 - 3
    assert sorted(report.corrupted) == [("image", (1, 1, 1)), ("roi_labels", (1, 0, 0))]
    assert report.missing == [("image", (0, 3, 1))]
    assert report.unfilled == 32 and len(report.temp_files) == 1
    assert cache.repair(report) == 3
    after = cache.scan()
    assert (after.ok, after.bad, after.temp_files) == (64, [], [])
    assert not left.exists() and writing.read_bytes() == b"y"
    np.testing.assert_array_equal(
        CacheSource(cache.root, upstream=array_source).read_channel(
            "roi_labels", (0, 16), (0, 512), (0, 512)
        ),
        volume["roi_labels"],
    )


def test_reopen_from_directory_alone_and_params_round_trip(cache, volume):
    cache.fill(channels=["image"])
    again = open_source("cache", **cache.params())
    assert again.shape == cache.shape and again.store.chunk_shape == CHUNKS
    # filled chunks need no upstream (this one could not even be recreated)
    np.testing.assert_array_equal(
        again.read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"]
    )
    with pytest.raises(DataError, match="cannot recreate its upstream 'array'"):
        again.read_channel("roi_labels", (0, 1), (0, 1), (0, 1))
    assert json.loads((cache.root / "zarr.json").read_text())["attributes"]["mtneuro_cache"][
        "chunk_shape"
    ] == [8, 128, 128]


def test_mismatched_upstream_or_chunks_are_refused(cache, tmp_path):
    cache.fill(z=(0, 8), y=(0, 128), x=(0, 128), channels=["image"])
    other = ArraySource(random_volume((16, 512, 256)))
    with pytest.raises(ConfigError, match="does not match"):
        CacheSource(cache.root, upstream=other)
    with pytest.raises(ConfigError, match="holds data of source 'array', not 'phantom'"):
        CacheSource(cache.root, upstream="phantom")
    with pytest.raises(ConfigError, match="chunk_shape"):
        CacheSource(cache.root, chunk_shape=(16, 256, 256))
    with pytest.raises(ConfigError, match="not a cache yet.*--source-param upstream=NAME with "
                                          "--source cache"):
        CacheSource(tmp_path / "new")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        CacheSource(tmp_path / "junk", upstream=ArraySource(random_volume((2, 4, 4))))
    # a creation killed while writing its metadata left only a temporary file: redone
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / ".zarr.json.tmp-123-456").write_text("{")
    made = CacheSource(tmp_path / "killed", upstream=ArraySource(random_volume((2, 4, 4))))
    assert made.scan().unfilled > 0


def test_memory_budget_bounds_decoded_chunks(tmp_path, array_source, volume):
    cache = open_source(
        "cache", root=tmp_path / "m", upstream=array_source, chunk_shape=CHUNKS, memory_mb=0.3
    )
    np.testing.assert_array_equal(
        cache.read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"]
    )
    assert cache._memory._bytes <= 0.3 * 2**20 and len(cache._memory._items) == 2  # 128 KiB chunks


def test_cache_and_bossdb_sources_pickle_for_worker_processes(
    cache, boss_server, fast_params, volume
):
    import pickle

    cache.read_channel("image", (0, 8), (0, 128), (0, 128))
    clone = pickle.loads(pickle.dumps(cache))
    np.testing.assert_array_equal(
        clone.read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"]
    )
    bossdb = pickle.loads(pickle.dumps(open_source("bossdb", **fast_params)))
    np.testing.assert_array_equal(
        bossdb.read_channel("pixel_labels", (1, 3), (5, 300), (7, 9)),
        volume["pixel_labels"][1:3, 5:300, 7:9],
    )


def test_phantom_upstream_by_name_is_recreated_for_repair(tmp_path, capsys):
    pytest.importorskip("mtneuro.data.sources.phantom")
    from mtneuro.cli.main import main

    phantom = open_source("phantom", seed=0)
    cache = open_source(
        "cache",
        root=tmp_path / "p",
        upstream="phantom",
        upstream_params={"seed": 0},
        chunk_shape=(2, 64, 64),
    )
    assert cache.shape == phantom.shape
    want = phantom.read_channel("image", (100, 102), (900, 964), (4600, 4728))
    np.testing.assert_array_equal(
        cache.read_channel("image", (100, 102), (900, 964), (4600, 4728)), want
    )
    path = cache.store.chunk_path("image", (50, 14, 72))
    path.write_bytes(path.read_bytes()[::-1])
    main(
        ["data", "verify", "--cache", str(cache.root), "--quiet"]
    )  # recreates phantom(seed=0) from the store
    out = capsys.readouterr().out
    # z 100:102 -> 1 chunk, y 900:964 -> 2 (14, 15), x 4600:4728 -> 3 (71..73)
    assert "ok 5, corrupted 1, missing 0" in out and "repaired 1 chunk(s) from phantom" in out
    fresh = open_source("cache", root=tmp_path / "p")
    np.testing.assert_array_equal(
        fresh.read_channel("image", (100, 102), (900, 964), (4600, 4728)), want
    )


def test_filled_bossdb_cache_works_offline_and_missing_chunks_fail_clearly(
    tmp_path, boss_server, fast_params, volume
):
    from mtneuro.errors import SourceUnavailableError

    cache = open_source(
        "cache",
        root=tmp_path / "b",
        upstream="bossdb",
        upstream_params=fast_params,
        chunk_shape=CHUNKS,
    )
    cache.fill(z=(0, 8), channels=["image"])
    port = boss_server.host.split(":")[1]
    boss_server.stop()  # offline from now on
    offline = open_source("cache", root=tmp_path / "b", upstream_params={"max_retry_seconds": 0.5})
    np.testing.assert_array_equal(
        offline.read_channel("image", (0, 8), (0, 512), (0, 512)), volume["image"][:8]
    )
    with pytest.raises(SourceUnavailableError, match=rf"127.0.0.1:{port}.*--source phantom"):
        offline.read_channel("image", (8, 9), (0, 1), (0, 1))


def test_an_unreachable_upstream_is_tried_once_per_read_not_once_per_chunk(cache, monkeypatch):
    """Each worker thread needing a missing chunk asked for the upstream in turn, and each
    spent the whole retry budget again: a read of 12 missing chunks took many budgets."""
    from mtneuro.data.sources import cache as cache_module
    from mtneuro.errors import SourceUnavailableError

    attempts = []

    def unreachable(name, params):
        attempts.append(name)
        raise SourceUnavailableError("server unreachable after 6 tries; work offline with ...")

    monkeypatch.setattr(cache_module, "open_upstream", unreachable)
    reopened = CacheSource(cache.root, workers=4)  # its upstream is opened on first need
    with pytest.raises(SourceUnavailableError, match="work offline"):
        reopened.read_channel("image", (3, 12), (100, 300), (120, 140))
    assert attempts == ["array"]
    later = cache_module.time.monotonic() + cache_module.UPSTREAM_FAILURE_HOLD_S + 1
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: later)  # a later read tries again
    with pytest.raises(SourceUnavailableError):
        reopened.read_channel("image", (3, 12), (100, 300), (120, 140))
    assert len(attempts) == 2
