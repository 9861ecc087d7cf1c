"""An empty (truncated) record of stored chunks is damaged and rebuilt by ``data verify`` at
once; a record is started in whole, so no reader ever finds a new one empty."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_record import RECORD, FetchRecord

CHANNELS = ("image", "roi_labels")
GRID = (2, 3, 4)


def test_an_empty_record_is_rebuilt_by_verify_at_once(tmp_path: Path, cli) -> None:
    root = tmp_path / "c"
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root), "--z",
                        "0:8", "--y", "0:64", "--x", "0:64", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err
    (root / RECORD).write_bytes(b"")  # truncated a moment ago: not "made by an older mtneuro"
    assert CacheSource(root).store.record.read() == (None, "damaged")
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0, err
    assert "record of stored chunks (mtneuro_fetched) is damaged" in out
    assert "older mtneuro" not in out
    assert "started its record of stored chunks (4 chunk(s))" in out
    stored, problem = CacheSource(root).store.record.read()
    assert problem == "" and stored["image"] == {(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)}


@pytest.mark.parametrize("links", [True, False], ids=["hard-links", "no-hard-links"])
def test_a_record_is_started_once_whole_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: bool) -> None:
    if not links:  # as on FAT or exFAT: created exclusively and written, as before
        def refuse(*args: object, **kwargs: object) -> None:
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))

        monkeypatch.setattr(os, "link", refuse)
    first = FetchRecord(tmp_path, CHANNELS, GRID)
    assert first.start({"image": [(1, 2, 3)]}) is True
    assert FetchRecord(tmp_path, CHANNELS, GRID).start({"roi_labels": [(0, 0, 0)]}) is False
    assert [p.name for p in tmp_path.iterdir()] == [RECORD]
    assert first.read() == ({"image": {(1, 2, 3)}, "roi_labels": set()}, "")
