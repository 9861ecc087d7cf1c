"""Cache files that cannot be read as expected: garbled checksum files, files without read
permission (refused by :mod:`permissions`, as tests may run as root)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from permissions import deny_reading

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache import CacheSource
from mtneuro.errors import DataError

CHUNKS = (8, 128, 128)  # 2 x 4 x 4 = 32 chunks per channel of the 16 x 512 x 512 volume
FORMAT1 = Path(__file__).parent / "fixtures" / "cache_format1"
GARBLED = b"\xff\xfe\x00bad"  # not text at all: decoding it used to raise UnicodeDecodeError


@pytest.fixture
def cache(tmp_path, array_source) -> CacheSource:
    return open_source("cache", root=tmp_path / "c", upstream=array_source, chunk_shape=CHUNKS)


@pytest.mark.parametrize("content", [GARBLED, b"0123 not-a-digest\n"], ids=["binary", "text"])
def test_a_garbled_checksum_file_is_a_corrupted_chunk_read_fetches_again(
    cache, array_source, volume, content
):
    cache.fill(channels=["image"])
    cache.store.checksum_path("image", (0, 1, 2)).write_bytes(content)
    fresh = CacheSource(cache.root, upstream=array_source)
    assert fresh.scan().corrupted == [("image", (0, 1, 2))]
    np.testing.assert_array_equal(
        fresh.read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"]
    )
    assert fresh.scan().ok == 32 and fresh.scan().corrupted == []


def test_verify_counts_a_garbled_checksum_and_repair_fetches_it(tmp_path, cli):
    root = tmp_path / "c"
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root),
                        "--z", "0:16", "--y", "0:64", "--x", "0:64", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err
    (root / "image" / "_sha256" / "0.0.0").write_bytes(GARBLED)
    code, out, err = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 2 and "ok 7, corrupted 1, missing 0" in out
    assert "corrupted image/c/0/0/0" in out and err.count("\n") == 1
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0, err
    assert "re-fetched image/c/0/0/0" in out
    assert CacheSource(root).scan().ok == 8


def test_format1_upgrade_leaves_a_garbled_checksum_for_the_scan_to_find(tmp_path):
    from mtneuro.data.sources.cache_metadata import check_metadata
    from mtneuro.data.sources.cache_store import ChunkStore

    root = tmp_path / "old"
    shutil.copytree(FORMAT1, root)
    store = ChunkStore.from_spec(root, check_metadata(root).spec)
    store.checksum_path("image", (1, 0, 0)).write_bytes(GARBLED)
    assert store.upgrade_checksums() == 5
    assert store.status("image", (1, 0, 0)) == "corrupted"


@pytest.mark.parametrize("which", ["chunk_path", "checksum_path"])
def test_an_unreadable_cache_file_is_a_one_line_error_and_is_kept(cache, monkeypatch, which):
    cache.fill(channels=["image"])
    target = getattr(cache.store, which)("image", (1, 3, 0))
    before = target.read_bytes()
    deny_reading(monkeypatch, target)
    fresh = CacheSource(cache.root, upstream=cache.upstream)
    for attempt in (fresh.scan, lambda: fresh.read_channel("image", (8, 9), (384, 390), (0, 4))):
        with pytest.raises(DataError) as err:
            attempt()
        message = str(err.value)
        assert "\n" not in message and str(target) in message
        assert "permission" in message and "chmod" in message
    monkeypatch.undo()
    assert target.read_bytes() == before  # the user's file, not a damaged chunk to replace


def test_verify_repair_of_an_unreadable_chunk_says_so_in_one_line(tmp_path, cli, monkeypatch):
    root = tmp_path / "c"
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root),
                        "--z", "0:8", "--y", "0:32", "--x", "0:32", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err
    target = root / "image" / "c" / "0" / "0" / "0"
    deny_reading(monkeypatch, target)
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 2 and err.count("\n") == 1 and str(target) in err
    assert "Traceback" not in err and "re-fetched" not in out
    monkeypatch.undo()
    assert target.is_file()
