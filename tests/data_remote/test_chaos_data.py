"""Chaos checks of a filled cache as a flaky laptop meets it: damage, leftovers, user files.

The cache is filled from the phantom through the CLI (no server), so ``verify --repair`` can
recreate the upstream from the directory alone, as a user's would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

#: 1 x 2 x 4 = 8 chunks of one channel: small enough to fill in about a second.
BLOCK = ["--z", "0:8", "--y", "0:128", "--x", "0:256", "--chunk-shape", "8,64,64"]
CHUNK = Path("image", "c", "0", "1", "2")
CHECKSUM = Path("image", "_sha256", "0.1.2")


@pytest.fixture
def filled(tmp_path, cli) -> Path:
    root = tmp_path / "c"
    code, out, err = cli(
        [
            "data",
            "fetch",
            "--source",
            "phantom",
            "--cache",
            str(root),
            "--channels",
            "image",
            "--quiet",
            *BLOCK,
        ]
    )
    assert code == 0 and "fetched 8 chunk(s)" in out, err
    return root


def files(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file with its inode: a file written again (atomically) gets a new one, as long
    as the old one is not free to be reused (:func:`inodes_held`)."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.read_bytes())
        for p in root.rglob("*")
        if p.is_file()
    }


@contextmanager
def inodes_held(root: Path) -> Iterator[None]:
    """Keep every file of ``root`` open: an inode the command frees (a checksum unlinked
    before its chunk is rewritten) cannot go to a file it writes next, which would make that
    rewritten file look untouched to :func:`files`."""
    with ExitStack() as stack:
        for path in [p for p in root.rglob("*") if p.is_file()]:
            stack.enter_context(path.open("rb"))
        yield


def test_repair_rewrites_only_the_damaged_chunk_and_keeps_everything_else(filled, cli):
    before = files(filled)
    chunk = filled / CHUNK
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte on a flaky disk
    chunk.write_bytes(bytes(data))
    # A user's own files and a temporary file of a writer that may still be running (young):
    # none of them is the cache's to delete.
    folder = chunk.parent
    (folder / "notes.txt").write_text("mine")
    (folder / "2.bak").write_bytes(before[str(CHUNK)][1])
    (folder / ".1.tmp-123-4").write_bytes(b"being written")
    kept = {name: (folder / name).read_bytes() for name in ("notes.txt", "2.bak", ".1.tmp-123-4")}

    with inodes_held(filled):
        code, out, err = cli(["data", "verify", "--cache", str(filled), "--quiet"])

    assert code == 0, err
    assert "ok 7, corrupted 1, missing 0" in out and "repaired 1 chunk(s)" in out
    after = files(filled)
    rewritten = {k for k in before if after.get(k) != before[k]}
    assert rewritten == {str(CHUNK), str(CHECKSUM)}
    assert after[str(CHUNK)][1] == before[str(CHUNK)][1]  # the same bytes as first fetched
    assert {name: (folder / name).read_bytes() for name in kept} == kept


def test_an_old_temporary_file_is_removed_and_nothing_else(filled, cli):
    before = files(filled)
    stale = filled / CHUNK.parent / ".2.tmp-999-1"  # a writer killed an hour ago
    stale.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    code, out, err = cli(["data", "verify", "--cache", str(filled), "--quiet"])

    assert code == 0, err
    assert "temporary files 1" in out and "repaired 0 chunk(s)" in out
    assert not stale.exists() and files(filled) == before


@pytest.mark.parametrize(
    "damage",
    ["empty-chunk", "garbage-checksum", "checksum-deleted", "chunk-deleted"],
)
def test_each_damage_is_counted_and_refused_in_one_line_without_repair(filled, cli, damage):
    if damage == "empty-chunk":  # a write cut short by a full disk
        (filled / CHUNK).write_bytes(b"")
    elif damage == "garbage-checksum":
        (filled / CHECKSUM).write_text("zzz\n")
    elif damage == "checksum-deleted":
        (filled / CHECKSUM).unlink()
    else:
        (filled / CHUNK).unlink()
    counts = "corrupted 0, missing 1" if damage == "chunk-deleted" else "corrupted 1, missing 0"
    damaged = files(filled)

    with inodes_held(filled):
        code, out, err = cli(["data", "verify", "--cache", str(filled), "--no-repair", "--quiet"])

    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "1 damaged chunk(s)" in err and "--repair" in err
    assert f"ok 7, {counts}" in out
    assert files(filled) == damaged  # --no-repair changes nothing
