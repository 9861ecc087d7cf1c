"""Audit (s19) of the record of stored chunks and the verify report built on it: what a
damaged record is, who may start one, and what ``data verify --repair`` does with a damaged
one. Known answers from the record's own layout (header line, then one byte per chunk)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_record import RECORD, FetchRecord

CHANNELS = ("image", "roi_labels")
GRID = (2, 3, 4)  # gy != gx: a key's flat index depends on using each axis' own size


def _record(root: Path) -> FetchRecord:
    return FetchRecord(root, CHANNELS, GRID)


def test_a_byte_other_than_0_or_1_makes_the_record_damaged(tmp_path: Path) -> None:
    # a stray byte counted as "stored" would make verify report a false missing chunk
    record = _record(tmp_path)
    record.reset()
    record.mark("image", (0, 0, 1))
    assert record.read() == ({"image": {(0, 0, 1)}, "roi_labels": set()}, "")
    with open(record.path, "ab") as handle:
        handle.write(b"\x00x")  # chunk index 2 of image: neither 0 nor 1
    assert record.read() == (None, "damaged")


def test_marks_land_at_each_channel_and_key_s_own_byte(tmp_path: Path) -> None:
    record = _record(tmp_path)
    record.reset()
    record.mark("roi_labels", (1, 2, 3))  # the last chunk of the second channel
    record.mark("image", (0, 1, 0))
    data = record.path.read_bytes()
    body = data[len(record.header):]
    assert len(body) == 2 * 24 and body[24 + 23:] == b"1"
    assert body[4:5] == b"1" and body.count(b"1") == 2  # (0, 1, 0): 0 * 12 + 1 * 4 + 0
    assert record.read() == ({"image": {(0, 1, 0)}, "roi_labels": {(1, 2, 3)}}, "")


def test_a_part_header_is_absent_while_young_and_damaged_once_old(tmp_path: Path) -> None:
    # another process writes the header right after creating the file: a young part header
    # is that, not damage (removing it would race the starter); an old one is damage
    record = _record(tmp_path)
    record.path.write_bytes(record.header[:10])
    assert record.read() == (None, "absent")
    old = time.time() - 120
    os.utime(record.path, (old, old))
    assert record.read() == (None, "damaged")


def test_only_one_process_starts_a_record_and_a_second_start_changes_nothing(
        tmp_path: Path) -> None:
    first = _record(tmp_path)
    assert first.start({"image": [(0, 0, 0)]}) is True
    before = first.path.read_bytes()
    assert _record(tmp_path).start({"roi_labels": [(1, 1, 1)]}) is False
    assert first.path.read_bytes() == before
    assert first.read() == ({"image": {(0, 0, 0)}, "roi_labels": set()}, "")


def test_a_record_of_another_grid_is_damaged(tmp_path: Path) -> None:
    _record(tmp_path).reset()
    assert FetchRecord(tmp_path, CHANNELS, (2, 4, 3)).read() == (None, "damaged")
    assert FetchRecord(tmp_path, ("image",), GRID).read() == (None, "damaged")


def _phantom_cache(cli, root: Path) -> None:
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root), "--z",
                        "0:8", "--y", "0:64", "--x", "0:64", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err


def test_repair_replaces_a_damaged_record_with_one_of_the_chunks_on_disk(
        tmp_path: Path, cli) -> None:
    root = tmp_path / "c"
    _phantom_cache(cli, root)  # 4 image chunks stored
    (root / RECORD).write_bytes(b"garbage")
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0, err
    assert "started its record of stored chunks (4 chunk(s))" in out
    store = CacheSource(root).store
    stored, problem = store.record.read()
    assert problem == "" and stored["image"] == {(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)}


def test_never_fetched_counts_every_chunk_not_stored(tmp_path: Path, cli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a chunk listed on disk that is gone when checked (a race with a remover), and never
    # recorded: never fetched, so ok + bad + never fetched is every chunk of the cache
    root = tmp_path / "c"
    _phantom_cache(cli, root)
    cache = CacheSource(root)
    listed = cache.store.keys_on_disk
    gone = (0, 1, 2)
    monkeypatch.setattr(cache.store, "keys_on_disk",
                        lambda c: listed(c) | ({gone} if c == "image" else set()))
    report = cache.scan()
    total = len(cache.channels) * int(np.prod(cache.store.grid))
    assert (report.ok, report.bad, report.unfilled) == (4, [], total - 4)
