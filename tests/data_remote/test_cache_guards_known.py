"""Known answers for the guards of this session's cache and download changes (mutation
audit): when a temporary file counts as a leftover, which write errors a read-only cache
absorbs, and what a download that cannot get its lock says."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from mtneuro.data import download_lock as download_lock_module
from mtneuro.data.sources import cache_temp, cache_unstored
from mtneuro.errors import DataError

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process ids and flock")


def _temp(folder, pid: int, host: str):
    path = folder / f".0.0.0{cache_temp.TMP_MARK}{pid}-1{host}"
    path.write_bytes(b"x")
    return path


@POSIX
def test_another_users_live_writer_is_not_taken_for_gone(tmp_path, monkeypatch):
    # os.kill(pid, 0) on another user's process: EPERM, the process exists
    monkeypatch.setattr(cache_temp, "_HOST", "@here")
    path = _temp(tmp_path, 424242, "@here")

    def refused(pid, signal):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(cache_temp.os, "kill", refused)
    assert not cache_temp.is_stale_temp(path)


def test_another_hosts_file_waits_for_the_age_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_temp, "_HOST", "@here")
    path = _temp(tmp_path, 1, "@elsewhere")
    modified = path.stat().st_mtime
    assert not cache_temp.is_stale_temp(path, now=modified + 120)
    assert not cache_temp.is_stale_temp(path, now=modified + cache_temp.STALE_TEMP_S - 1)
    assert cache_temp.is_stale_temp(path, now=modified + cache_temp.STALE_TEMP_S + 1)


def test_a_generic_hostname_is_not_written_into_names(monkeypatch):
    for generic in ("localhost", "localhost.localdomain"):
        monkeypatch.setattr(cache_temp.socket, "gethostname", lambda name=generic: name)
        assert cache_temp._host_tag() == ""
    monkeypatch.setattr(cache_temp.socket, "gethostname", lambda: "lab node/7")
    assert cache_temp._host_tag() == "@lab_node_7"


class _Store:
    """A chunk store whose write fails with ``code``."""

    def __init__(self, root, code: int) -> None:
        self.root, self.code = root, code

    def write(self, channel, key, block):
        raise OSError(self.code, os.strerror(self.code), str(self.root / "image" / ".x.tmp"))

    def padded(self, block):
        full = np.zeros((2, 4, 4), dtype=np.uint8)
        full[tuple(slice(0, n) for n in block.shape)] = block
        return full


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_a_read_only_cache_serves_the_block_it_could_not_store(tmp_path, monkeypatch, code):
    monkeypatch.setattr(cache_unstored, "_warned", set())
    block = np.ones((1, 4, 3), dtype=np.uint8)
    with pytest.warns(UserWarning, match="cannot store chunks in it"):
        full = cache_unstored.store_if_allowed(_Store(tmp_path, code), "image", (0, 0, 0), block)
    assert full.shape == (2, 4, 4) and full.sum() == 12


def test_a_full_disk_is_no_read_only_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_unstored, "_warned", set())
    with pytest.raises(OSError) as raised:
        cache_unstored.store_if_allowed(_Store(tmp_path, errno.ENOSPC), "image", (0, 0, 0),
                                        np.ones((1, 4, 4), dtype=np.uint8))
    assert raised.value.errno == errno.ENOSPC


HOLDER = """
import sys, time
from pathlib import Path
from mtneuro.data.sources.cache_lock import file_lock
with file_lock(Path(sys.argv[1]), 0.0) as held:
    print(held, flush=True)
    time.sleep(30)
"""


@POSIX
def test_a_download_whose_lock_stays_held_gives_up_naming_the_lock(tmp_path):
    dest = tmp_path / "blob.bin"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(dest)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        started = time.monotonic()
        with (pytest.warns(UserWarning, match="another process is downloading"),
              pytest.raises(DataError, match=r"\.blob\.bin\.tmp-lock.*for 0 s"),
              download_lock_module.download_lock(dest, 0.2)):
            pytest.fail("the lock was held by the other process")
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()


def test_a_download_finding_its_file_verified_makes_no_request(tmp_path):
    # what a run that waited for another's download of the file finds once its turn comes
    import hashlib

    from mtneuro.data.download import fetch_url
    from mtneuro.data.retry import RetryPolicy

    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"done by the other run")
    sha = hashlib.sha256(dest.read_bytes()).hexdigest()
    # nothing listens there: a request would fail after its one try
    policy = RetryPolicy(max_attempts=1, max_seconds=1.0)
    assert fetch_url("http://127.0.0.1:9/blob", dest, sha256=sha, policy=policy,
                     progress=False) == dest
    assert dest.read_bytes() == b"done by the other run"
    assert not (tmp_path / "blob.bin.part").exists()
