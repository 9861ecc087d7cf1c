"""Audit of the chunk locks of the cache: release on error paths, no re-entry, bounded waits,
stale and replaced lock files, and the two-pass map over chunks.

Another process is stood for by a second open file description of the lock file: flock
conflicts between descriptions even within one process, so no subprocess is needed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_clock import FakeClock
from lock_holder import lock_held_by_another_thread

from mtneuro.data.sources import cache_lock
from mtneuro.data.sources.cache_lock import (
    BUSY,
    chunk_lock,
    directory_lock,
    lock_path,
    map_chunks,
    remove_lock_file,
)

fcntl = cache_lock.fcntl
pytestmark = pytest.mark.skipif(fcntl is None, reason="needs fcntl.flock (POSIX)")


@pytest.fixture
def chunk(tmp_path) -> Path:
    return tmp_path / "image" / "c" / "0" / "0" / "0"  # its folder is not made yet


@contextlib.contextmanager
def held_elsewhere(path: Path, directory: bool = False) -> Iterator[int]:
    """``path`` (made if missing) flocked through its own descriptor, as by another process."""
    if directory:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield fd
    finally:
        os.close(fd)  # drops the flock and leaves the file, like a killed holder


def locked(path: Path, directory: bool = False) -> bool:
    """Whether a holder keeps the flock of the existing ``path``."""
    fd = os.open(path, os.O_RDONLY if directory else os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def users(path: Path) -> int:
    """Threads of this process using the lock of ``path`` (0: no registry entry)."""
    with cache_lock._held.mutex:
        entry = cache_lock._held.threads.get(path)
        return 0 if entry is None else entry[1]


def open_files() -> int:
    with cache_lock._held.mutex:
        return len(cache_lock._held.files)


def test_an_error_in_the_block_releases_the_lock_and_removes_its_file(chunk):
    path, files = lock_path(chunk), open_files()
    with pytest.raises(RuntimeError, match="fetch failed"), chunk_lock(chunk) as held:
        assert held and locked(path) and open_files() == files + 1
        raise RuntimeError("fetch failed")
    assert not path.exists() and users(path) == 0 and open_files() == files
    with chunk_lock(chunk, wait=False) as again:  # free for the next holder at once
        assert again


def test_a_thread_does_not_re_enter_a_lock_it_holds_nor_drop_it(chunk, monkeypatch):
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 2.0)  # a wrong wait fails, not hangs
    path = lock_path(chunk)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a lock not waited for is no reason to warn
        with chunk_lock(chunk) as outer:
            with chunk_lock(chunk, wait=False) as inner:
                # refused, and already gone from the registry: only the outer user is left
                assert outer and not inner and users(path) == 1
            assert users(path) == 1 and locked(path)  # the outer lock and its file are kept
    assert not path.exists() and users(path) == 0


def test_a_waiter_gets_the_lock_once_its_holder_releases_it(chunk, monkeypatch):
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 5.0)  # a lock never released fails, not hangs
    path = lock_path(chunk)
    holding, waited = threading.Event(), threading.Event()

    def hold() -> None:
        with chunk_lock(chunk):
            holding.set()
            deadline = time.monotonic() + 10
            # release only once the waiter is queued on the lock (or has given up)
            while users(path) < 2 and not waited.is_set() and time.monotonic() < deadline:
                time.sleep(0.002)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with chunk_lock(chunk) as held:
                assert held and locked(path)
        waited.set()
    finally:
        waited.set()
        holder.join(10)
    assert [str(w.message) for w in caught] == []  # waited for, not taken over
    assert not path.exists() and users(path) == 0


def test_a_thread_holding_too_long_is_warned_about_and_not_waited_for(chunk, monkeypatch):
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 0.1)
    path = lock_path(chunk)
    with lock_held_by_another_thread(chunk):
        start = time.monotonic()
        warned = pytest.warns(UserWarning, match="locked by another thread or process")
        with warned, chunk_lock(chunk) as held:
            assert held  # fetched here as well
        assert 0.1 <= time.monotonic() - start < 5.0
        assert locked(path) and users(path) == 1  # the holder's lock is left alone
    assert not path.exists() and users(path) == 0


def test_a_lock_file_held_by_another_process_bounds_the_wait(chunk, monkeypatch):
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 0.1)
    path = lock_path(chunk)
    with held_elsewhere(path):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with chunk_lock(chunk, wait=False) as held:
                assert not held
        start = time.monotonic()
        warned = pytest.warns(UserWarning, match="locked by another thread or process")
        with warned, chunk_lock(chunk) as held:
            assert held
        assert 0.1 <= time.monotonic() - start < 5.0
        assert path.exists() and locked(path)  # the other holder's file is not removed
    # the holder died without removing its file: stale, so taken at once and then removed
    with chunk_lock(chunk, wait=False) as held:
        assert held and locked(path)
    assert not path.exists() and users(path) == 0


def test_the_thread_and_file_waits_share_one_time_limit(chunk, monkeypatch):
    """On a clock that moves only when waited on: the thread lock takes 0.15 s of the 0.2 s
    limit, so the lock file held elsewhere is polled for the 0.05 s left, not 0.2 s more."""
    clock, pauses = FakeClock(), []

    class SlowLock:
        def acquire(self, *args: Any, **kwargs: Any) -> bool:
            clock.now += 0.15
            return True

        def release(self) -> None:
            pass

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 0.2)
    monkeypatch.setattr(cache_lock, "time", SimpleNamespace(monotonic=clock, sleep=sleep))
    monkeypatch.setattr(cache_lock, "threading", SimpleNamespace(
        Lock=SlowLock, get_ident=threading.get_ident))
    warned = pytest.warns(UserWarning, match="locked by another thread or process")
    with held_elsewhere(lock_path(chunk)), warned, chunk_lock(chunk) as held:
        assert held
    low, high = cache_lock.POLL_S
    assert 0.2 <= clock.now <= 0.2 + high
    assert pauses == [min(low * 2**i, high) for i in range(len(pauses))]  # doubling, capped


def test_a_lock_file_removed_between_open_and_flock_is_not_the_one_held(chunk, monkeypatch):
    path = lock_path(chunk)
    real_flock, calls = fcntl.flock, []

    def flock_after_a_release(fd: int, operation: int) -> None:
        if not calls:  # the previous holder removes the file we just opened, then releases
            os.unlink(path)
        calls.append(fd)
        real_flock(fd, operation)

    monkeypatch.setattr(cache_lock, "fcntl", SimpleNamespace(
        LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB, flock=flock_after_a_release))
    with chunk_lock(chunk) as held:
        # locked at the path (a second holder would conflict), not a deleted file
        assert held and len(calls) == 2 and path.exists() and locked(path)
    assert not path.exists()


def test_releasing_keeps_a_newer_lock_file_at_the_path(chunk):
    path = lock_path(chunk)
    with contextlib.ExitStack() as stack:
        with chunk_lock(chunk):
            path.unlink()  # replaced by a newer holder's file meanwhile
            stack.enter_context(held_elsewhere(path))
        assert path.exists() and locked(path)


def test_remove_lock_file_removes_only_unheld_files(chunk):
    path = lock_path(chunk)
    assert remove_lock_file(path)  # nothing there: nothing to remove
    with held_elsewhere(path):
        assert not remove_lock_file(path) and path.exists()
    assert remove_lock_file(path) and not path.exists()  # stale


def test_a_lock_file_that_cannot_be_made_leaves_the_thread_lock(tmp_path):
    (tmp_path / "file").write_bytes(b"")  # a file where the chunk's folder should be
    chunk = tmp_path / "file" / "0"
    with chunk_lock(chunk) as held:
        assert held  # not holdable here: the threads of this process are still coordinated
        with chunk_lock(chunk, wait=False) as again:
            assert not again
    assert users(lock_path(chunk)) == 0


def test_an_interrupted_wait_leaves_no_registry_entry(chunk, monkeypatch):
    class InterruptedLock:
        def acquire(self, *args: Any, **kwargs: Any) -> bool:
            raise KeyboardInterrupt

    monkeypatch.setattr(cache_lock, "threading", SimpleNamespace(
        Lock=InterruptedLock, get_ident=threading.get_ident))
    with pytest.raises(KeyboardInterrupt), chunk_lock(chunk):
        pass
    assert users(lock_path(chunk)) == 0


def test_a_lock_left_after_the_registry_was_replaced_keeps_the_new_holders_entry(
        chunk, monkeypatch):
    """After a fork the child starts a new registry while the forking thread may still be
    inside a lock; leaving that lock must not drop the entry a child thread holds now."""
    monkeypatch.setattr(cache_lock, "fcntl", None)  # thread locks only: no flock between them
    monkeypatch.setattr(cache_lock, "_held", cache_lock._Held())  # the parent's, thrown away
    before_fork = chunk_lock(chunk)
    assert before_fork.__enter__()
    monkeypatch.setattr(cache_lock, "_held", cache_lock._Held())  # as _after_fork_in_child
    with chunk_lock(chunk, wait=False) as child:
        assert child
        before_fork.__exit__(None, None, None)
        assert users(lock_path(chunk)) == 1  # the child's entry is kept
        with chunk_lock(chunk, wait=False) as second:
            assert not second  # still locked: no second holder
    assert users(lock_path(chunk)) == 0


def test_lock_files_are_hidden_temporary_files_beside_their_chunk(tmp_path):
    path = lock_path(tmp_path / "image" / "c" / "0" / "1" / "2")
    assert path == tmp_path / "image" / "c" / "0" / "1" / ".2.tmp-lock"
    assert cache_lock.is_lock_file(path) and not cache_lock.is_lock_file(path.with_name("2"))


def test_a_directory_held_too_long_is_warned_about_and_not_waited_for(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 0.1)
    root = tmp_path / "cache"
    with held_elsewhere(root, directory=True):  # another process creating the cache
        start = time.monotonic()
        with pytest.warns(UserWarning, match="locked by another process"), directory_lock(root):
            pass
        assert 0.1 <= time.monotonic() - start < 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # free now: taken without a warning
        with directory_lock(root):
            assert locked(root, directory=True)


def test_a_directory_lock_is_released_on_error(tmp_path):
    root = tmp_path / "cache"
    with pytest.raises(RuntimeError), directory_lock(root):
        assert locked(root, directory=True)
        with cache_lock._held.mutex:
            (fd,) = [f for f in cache_lock._held.files
                     if os.path.samestat(os.fstat(f), os.stat(root))]
        raise RuntimeError("creation failed")
    # a stale entry would make a forked child close whatever reuses the number
    assert not locked(root, directory=True) and fd not in cache_lock._held.files


class Progress:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n


@pytest.mark.parametrize("workers", [1, 2])
def test_busy_chunks_are_tried_again_last_with_a_wait_and_counted_once(workers):
    calls: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def fn(item: int, wait: bool) -> Any:
        with lock:
            calls.append((item, wait))
        return BUSY if item == 1 and not wait else (item, wait)

    progress = Progress()
    assert map_chunks(fn, [0, 1, 2], workers, progress) == [(0, False), (1, True), (2, False)]
    assert progress.n == 3 and sorted(calls) == [(0, False), (1, False), (1, True), (2, False)]
    if workers == 1:
        assert calls[-1] == (1, True)


def test_a_failing_chunk_cancels_the_chunks_not_started(monkeypatch):
    items = list(range(6))
    all_cancelled = threading.Event()
    cancels: list[Future] = []
    real_cancel = Future.cancel

    def counted_cancel(self: Future) -> bool:
        done = real_cancel(self)
        cancels.append(self)
        if len(cancels) == len(items):
            all_cancelled.set()
        return done

    monkeypatch.setattr(Future, "cancel", counted_cancel)
    started: list[int] = []

    def fn(item: int, wait: bool) -> int:
        started.append(item)
        if item == 0:
            raise RuntimeError("upstream failed")
        all_cancelled.wait(2)  # both workers stay busy until the failure was handled
        return item

    with pytest.raises(RuntimeError, match="upstream failed"):
        map_chunks(fn, items, workers=2)
    # besides 0, at most one chunk per worker started before the cancellation reached the
    # queue (both workers then wait in ``fn``): the rest never started
    assert all_cancelled.is_set() and 0 in started and len(started) <= 3


def test_a_failed_fill_stops_waiting_for_a_chunk_another_process_fetches(chunk, monkeypatch):
    from mtneuro.data.sources.fetch_budget import shared_budget
    from mtneuro.errors import DataError

    monkeypatch.setattr(cache_lock, "LOCK_WAIT_S", 10.0)  # were the wait not cut short
    start = time.monotonic()
    with held_elsewhere(lock_path(chunk)), pytest.raises(DataError, match="upstream gone"):
        with shared_budget() as budget:
            threading.Timer(0.2, budget.fail, [DataError("upstream gone")]).start()
            with chunk_lock(chunk):
                pytest.fail("the lock another process holds was taken")
    # the job's own failure, soon after it failed: not the lock's 10 s wait, then a fetch
    assert time.monotonic() - start < 3.0
