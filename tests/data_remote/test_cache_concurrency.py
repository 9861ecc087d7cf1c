"""Processes and threads filling one cache at once fetch each chunk from the server once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from lock_holder import lock_held_by_another_thread

from mtneuro.data.sources import cache_lock
from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_lock import LOCK_SUFFIX, chunk_lock, lock_path

pytestmark = pytest.mark.skipif(cache_lock.fcntl is None, reason="needs fcntl.flock (POSIX)")

CHUNKS = (8, 128, 128)  # 32 chunks per channel of the 16 x 512 x 512 volume; one cutout each
N_CHUNKS = 32

# Waits for the go file so that both processes start together, then opens (or creates) the
# cache with the JSON keyword arguments given and fills or reads it.
WORKER = """
import hashlib, json, sys, time
from pathlib import Path
from mtneuro.data.sources.cache import CacheSource
root, mode, ready, go, kwargs = sys.argv[1:6]
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.002)
cache = CacheSource(root, workers=3, **json.loads(kwargs))
if mode == "read":
    block = cache.read_channel("image", (0, 16), (0, 512), (0, 512))
    print(hashlib.sha256(block.tobytes()).hexdigest())
else:
    print(cache.fill(channels=["image"]).fetched)
"""

# Holds the locks of two chunks until killed.
HOLDER = """
import contextlib, sys, time
from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_lock import chunk_lock
store = CacheSource(sys.argv[1]).store
with contextlib.ExitStack() as stack:
    for key in ((0, 0, 0), (0, 0, 1)):
        stack.enter_context(chunk_lock(store.chunk_path("image", key)))
    print("held", flush=True)
    time.sleep(60)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


@pytest.fixture
def bossdb_cache(tmp_path, boss_server, fast_params) -> Path:
    """A new, empty cache of the test server (creating it requests no cutout)."""
    root = tmp_path / "cache"
    CacheSource(root, upstream="bossdb", upstream_params=fast_params, chunk_shape=CHUNKS)
    assert boss_server.count("cutout") == 0
    return root


def _lock_files(root: Path) -> list[Path]:
    return sorted(root.rglob(f"*{LOCK_SUFFIX}"))


def _run_two(root: Path, mode: str, tmp_path: Path, **kwargs) -> list[str]:
    """Run WORKER twice at once; the last line each printed."""
    go = tmp_path / "go"
    procs, ready = [], []
    for i in range(2):
        ready.append(tmp_path / f"ready{i}")
        argv = [str(root), mode, str(ready[i]), str(go), json.dumps(kwargs)]
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, *argv], env=_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        deadline = time.monotonic() + 15
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=15) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    return [out.strip().splitlines()[-1] for out, _ in outs]


def _check_filled(root: Path) -> None:
    report = CacheSource(root).scan()
    assert (report.ok, report.bad, report.temp_files) == (N_CHUNKS, [], [])
    assert _lock_files(root) == []  # every lock file removed after use


@pytest.mark.parametrize("mode", ["fill", "read"])
def test_two_processes_filling_one_cache_fetch_each_chunk_once(
    bossdb_cache, boss_server, volume, tmp_path, mode
):
    boss_server.delay_seconds = 0.1  # a slow server: the two processes really overlap
    lines = _run_two(bossdb_cache, mode, tmp_path)
    assert boss_server.count("cutout") == N_CHUNKS  # not once per process
    if mode == "fill":
        fetched = [int(line) for line in lines]
        # each fetched a share: they ran at the same time and split the work
        assert sum(fetched) == N_CHUNKS and min(fetched) > 0, fetched
    else:
        assert lines == [hashlib.sha256(volume["image"].tobytes()).hexdigest()] * 2
    _check_filled(bossdb_cache)


def test_two_processes_creating_one_cache_at_once_both_fill_it(
    tmp_path, boss_server, fast_params
):
    # Both find no cache and open the upstream; the second must open what the first created
    # rather than refuse a folder that is "not empty and not an mtneuro cache".
    boss_server.delay_seconds = 0.05
    root = tmp_path / "new"
    upstream = {"upstream": "bossdb", "upstream_params": fast_params, "chunk_shape": CHUNKS}
    fetched = [int(line) for line in _run_two(root, "fill", tmp_path, **upstream)]
    assert sum(fetched) == N_CHUNKS and boss_server.count("cutout") == N_CHUNKS
    _check_filled(root)


@pytest.mark.parametrize("flock", [True, False], ids=["flock", "no-fcntl"])
def test_threads_of_one_process_wanting_the_same_chunks_fetch_them_once(
    bossdb_cache, boss_server, volume, monkeypatch, flock
):
    if not flock:  # as on Windows: the threads of one process are still coordinated
        monkeypatch.setattr(cache_lock, "fcntl", None)
    boss_server.delay_seconds = 0.05
    cache = CacheSource(bossdb_cache, workers=2)
    other = CacheSource(bossdb_cache, workers=2)  # its own memory: it must find the disk filled
    start = threading.Barrier(2)
    blocks: dict[int, np.ndarray] = {}

    def read(i: int, source: CacheSource) -> None:
        start.wait()
        blocks[i] = source.read_channel("image", (0, 16), (0, 512), (0, 256))

    threads = [threading.Thread(target=read, args=(i, s)) for i, s in enumerate((cache, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    assert boss_server.count("cutout") == N_CHUNKS // 2
    for i in range(2):
        np.testing.assert_array_equal(blocks[i], volume["image"][:, :, :256])


def test_a_chunk_being_fetched_elsewhere_is_left_for_last_not_waited_for(
    tmp_path, array_source, volume
):
    cache = CacheSource(tmp_path / "c", upstream=array_source, chunk_shape=CHUNKS, workers=1)
    first = cache.store.chunk_path("image", (0, 0, 0))
    blocks: list[np.ndarray] = []
    with chunk_lock(first):  # another thread fetching chunk (0, 0, 0)
        reader = threading.Thread(target=lambda: blocks.append(
            cache.read_channel("image", (0, 8), (0, 128), (0, 256))))  # chunks (0,0,0), (0,0,1)
        reader.start()
        deadline = time.monotonic() + 5
        while array_source.reads["image"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert array_source.reads["image"] == 1 and reader.is_alive()  # (0, 0, 1) meanwhile
    reader.join(10)
    np.testing.assert_array_equal(blocks[0], volume["image"][:8, :128, :256])
    assert array_source.reads["image"] == 2


def test_a_lock_held_by_a_killed_process_does_not_block(bossdb_cache, boss_server, volume,
                                                        monkeypatch):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(bossdb_cache)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held", proc.communicate()
        cache = CacheSource(bossdb_cache, workers=1)
        first = cache.store.chunk_path("image", (0, 0, 0))
        with chunk_lock(first, wait=False) as held:
            assert not held  # locked by the other process
        # A holder that keeps a lock (a stopped process) is waited for only so long.
        monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 0.3)
        with pytest.warns(UserWarning, match="locked by another thread or process"):
            block = cache.read_channel("image", (0, 8), (0, 128), (128, 256))
        np.testing.assert_array_equal(block, volume["image"][0:8, 0:128, 128:256])
        assert boss_server.count("cutout") == 1 and proc.poll() is None
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert lock_path(first).exists()  # the killed holder's lock file is left behind...
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 10.0)
    began = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not fetched after a time-out: the lock is free
        block = cache.read_channel("image", (0, 8), (0, 128), (0, 128))
    assert time.monotonic() - began < 5
    np.testing.assert_array_equal(block, volume["image"][0:8, 0:128, 0:128])
    assert boss_server.count("cutout") == 2
    assert not lock_path(first).exists()  # ...until the chunk's next lock


def test_lock_files_are_not_chunks_and_verify_removes_only_unheld_stale_ones(tmp_path,
                                                                            array_source):
    cache = CacheSource(tmp_path / "c", upstream=array_source, chunk_shape=CHUNKS)
    cache.fill(channels=["image"], z=(0, 8))
    store = cache.store
    stale, held = (lock_path(store.chunk_path("image", k)) for k in ((0, 0, 0), (1, 2, 3)))
    for path in (stale, held):  # leftovers of killed holders, an hour old
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        an_hour_ago = time.time() - 3600
        os.utime(path, (an_hour_ago, an_hour_ago))
    with chunk_lock(store.chunk_path("image", (1, 2, 3))) as got:
        assert got and held.exists()  # reused, not replaced: its holder is this thread now
        report = cache.scan()
        # (1, 2, 3) has a lock file but no chunk: unfilled, not "missing" or "corrupted"
        assert (report.ok, report.bad, report.unfilled) == (16, [], 3 * 32 - 16)
        assert sorted(report.temp_files) == sorted([stale, held])
        assert store.keys_on_disk("image") == {(0, j, k) for j in range(4) for k in range(4)}
        assert cache.repair(report) == 0
        assert not stale.exists() and held.exists()  # a held lock is not pulled from under it
    assert not held.exists()  # its holder removes it on release


def test_a_child_forked_while_another_thread_holds_a_lock_lets_it_go(tmp_path):
    chunk = tmp_path / "c" / "0"
    with lock_held_by_another_thread(chunk):
        (fd,) = cache_lock._held.files  # the holder's lock file descriptor
        pid = os.fork()
        if pid == 0:  # the child: the holding thread is not here, so neither may its lock be
            try:
                os.fstat(fd)
                os._exit(1)
            except OSError:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_cache_being_created_is_waited_for_and_then_opened(tmp_path, array_source, volume):
    from mtneuro.data.sources.cache_lock import directory_lock
    from mtneuro.data.sources.cache_store import ChunkStore

    root = tmp_path / "c"
    opened: list[CacheSource] = []
    with directory_lock(root):  # another creator, between finding no cache and creating it
        opener = threading.Thread(
            target=lambda: opened.append(CacheSource(root, upstream=array_source,
                                                     chunk_shape=CHUNKS)))
        opener.start()
        opener.join(0.5)
        assert opener.is_alive() and not any(root.iterdir())  # waits, writes nothing
        ChunkStore.create(root, array_source.shape, CHUNKS, array_source.channels,
                          array_source.describe())
    opener.join(10)
    (cache,) = opened  # opened what the other creator made, did not refuse it
    np.testing.assert_array_equal(cache.read_channel("image", (0, 8), (0, 128), (0, 128)),
                                  volume["image"][:8, :128, :128])
