"""One fetch per missing chunk: per-chunk locks shared by the threads and processes of a cache.

Several processes may fill one cache at once (two cells of ``mtneuro bench --jobs 2``
reading one region, two ``mtneuro data fetch`` runs), each with several worker threads.
A thread that finds a chunk missing or damaged takes that chunk's lock, checks the chunk
again once it holds it (another holder may have filled it meanwhile: then it is read, not
fetched), else fetches it, writes it atomically and releases: each chunk is fetched from
the upstream once. :func:`map_chunks` first tries every chunk without waiting and comes
back to those being fetched elsewhere at the end, so processes filling one region share
the work instead of queueing behind one another.

The lock of chunk ``<channel>/c/<i>/<j>/<k>`` is ``fcntl.flock`` on the empty file
``.<k>.tmp-lock`` beside it, plus a threading lock per chunk for the threads of one process.
The kernel drops a flock when its holder dies (``kill -9`` included), so a crashed holder
never blocks anyone. The holder deletes the lock file just before releasing it; a waiter
that then obtains the lock of the deleted file sees that the path is gone or is another
file and locks the current one, so two holders never overlap. Lock files carry the
temporary-file mark: scans never take them for chunks, and one left by a killed process is
removed by the chunk's next lock or, once stale and unheld, by ``mtneuro data verify``.

A downloaded catalogue file is locked the same way (:func:`file_lock`, used by
:mod:`mtneuro.data.download_lock`), so that two downloads into one data root never share
its partial file.

Creating a cache is serialised the same way, by a flock on the cache folder itself
(:func:`directory_lock`): of processes that find no cache at once, the first creates it and
the others open it (instead of refusing a folder that "is not an mtneuro cache").

Where locking is unavailable (no ``fcntl``, as on Windows; a file system without
``flock``; a cache folder that cannot be written) only the threads of one process are
coordinated, and processes may each fetch a chunk as before (harmless: writes are
atomic). A holder that keeps a lock past :data:`LOCK_WAIT_S` (a stopped process) is
warned about and not waited for any longer.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mtneuro.data.sources.cache_store import ChunkStore, Key
from mtneuro.data.sources.cache_temp import TMP_MARK
from mtneuro.data.sources.fetch_budget import current_budget

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only threads of one process are coordinated
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = f"{TMP_MARK}lock"
#: Seconds a chunk's lock is waited for before fetching it anyway (one fetch, retries
#: included, takes far less: the bossdb source's default retry budget is 120 s).
LOCK_WAIT_S = 300.0
#: First and longest pause between tries of a lock file held by another process.
POLL_S = (0.005, 0.1)


class _Busy:
    def __repr__(self) -> str:
        return "BUSY"


#: Returned instead of a result when the chunk's lock is held elsewhere and not waited for.
BUSY: Any = _Busy()
T = TypeVar("T")


class _Held:
    """The locks of this process: a threading lock per lock path (with its number of users)
    and the thread holding each lock file descriptor."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.threads: dict[Path, list[Any]] = {}
        self.files: dict[int, int] = {}


_held = _Held()


def _after_fork_in_child() -> None:
    # The other threads did not survive the fork, but the child shares their lock files'
    # descriptions: close them, or the chunks would stay locked until the child exits.
    global _held
    me = threading.get_ident()
    for fd, ident in list(_held.files.items()):
        if ident != me:
            with suppress(OSError):
                os.close(fd)
    _held = _Held()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def lock_path(target: Path) -> Path:
    """The lock file of the chunk file (or downloaded file) ``target``."""
    return target.with_name(f".{target.name}{LOCK_SUFFIX}")


def is_lock_file(path: Path) -> bool:
    return path.name.endswith(LOCK_SUFFIX)


@contextmanager
def chunk_lock(chunk: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the lock of the chunk file ``chunk`` within the block.

    Yields:
        False when ``wait`` is False and another thread or process holds the lock; else
        True (held, or not holdable here: see the module notes).
    """
    with file_lock(chunk, LOCK_WAIT_S if wait else 0.0) as held:
        if not held and wait:
            warnings.warn(f"cache: chunk {chunk} has been locked by another thread or process "
                          f"for {LOCK_WAIT_S:.0f} s; fetching it here as well", stacklevel=3)
        yield held or wait


@contextmanager
def file_lock(target: Path, wait_s: float) -> Iterator[bool]:
    """Hold the lock of the file ``target`` (its lock file :func:`lock_path` beside it, as a
    chunk's) within the block, waiting up to ``wait_s`` for another holder.

    Yields:
        False when another thread or process kept the lock for ``wait_s`` (then it is not
        held); else True (held, or not holdable here: see the module notes).
    """
    path = lock_path(target)
    start = time.monotonic()
    entry = _lock_thread(path, wait_s)
    fd: Any = None
    try:
        if entry is not None and fcntl is not None:
            fd = _lock_file(path, max(0.0, wait_s - (time.monotonic() - start)))
        yield not (entry is None or fd is BUSY)
    finally:
        if isinstance(fd, int):
            _unlock_file(path, fd)
        if entry is not None:
            entry[0].release()
            _unref(path, entry)


def _lock_thread(path: Path, wait_s: float) -> list[Any] | None:
    held = _held
    with held.mutex:
        entry = held.threads.setdefault(path, [threading.Lock(), 0])
        entry[1] += 1
    try:
        got = entry[0].acquire(timeout=wait_s) if wait_s > 0 else entry[0].acquire(blocking=False)
    except BaseException:  # interrupted while waiting
        _unref(path, entry)
        raise
    if got:
        return entry
    _unref(path, entry)
    return None


def _unref(path: Path, entry: list[Any]) -> None:
    held = _held  # after a fork, a new registry that no longer knows this entry
    with held.mutex:
        entry[1] -= 1
        if entry[1] <= 0 and held.threads.get(path) is entry:
            del held.threads[path]


def _lock_file(path: Path, wait_s: float, directory: bool = False,
               make: bool = True) -> int | None | Any:
    """A descriptor of ``path`` (created if missing and ``make``) holding its flock; None
    where it cannot be locked; BUSY when another holder kept it for ``wait_s``."""
    deadline = time.monotonic() + wait_s
    pause = POLL_S[0]
    while True:
        try:
            if directory:
                if make:
                    path.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None  # e.g. a read-only cache: the write fails anyway and says why
        try:
            # Polled rather than blocking, so that a wait is bounded and interruptible.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return BUSY
            job = current_budget()
            if job is not None:  # the fill this wait serves has failed: stop waiting for
                job.check()      # another process's fetch (up to LOCK_WAIT_S)
            time.sleep(pause)
            pause = min(2 * pause, POLL_S[1])
            continue
        except OSError:
            os.close(fd)
            return None  # a file system without flock (ENOLCK)
        if _same_file(path, fd):
            with _held.mutex:
                _held.files[fd] = threading.get_ident()
            return fd
        os.close(fd)  # its holder removed it on release: lock the file at the path now


@contextmanager
def directory_lock(root: Path, make: bool = True) -> Iterator[None]:
    """Hold a flock on the folder ``root`` itself (made if missing and ``make``; a missing
    one is not locked) within the block.

    Serialises the creation of a cache: a process that finds no cache takes it, checks
    again and creates the cache or opens the one another process has just made. No lock file
    is involved, so the folder holds only what the cache writes.
    """
    fd = None if fcntl is None else _lock_file(root, LOCK_WAIT_S, directory=True, make=make)
    if fd is BUSY:
        warnings.warn(f"cache: {root} has been locked by another process for "
                      f"{LOCK_WAIT_S:.0f} s; going on without it", stacklevel=3)
    try:
        yield
    finally:
        if isinstance(fd, int):
            with _held.mutex:
                _held.files.pop(fd, None)
            os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _unlock_file(path: Path, fd: int) -> None:
    with _held.mutex:
        _held.files.pop(fd, None)
    try:
        # Removed while still held, so that no waiter's newer lock file is ever removed.
        if _same_file(path, fd):
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)  # releases the flock


def remove_lock_file(path: Path) -> bool:
    """Delete the lock file ``path`` unless someone holds it (then False)."""
    if fcntl is None:
        path.unlink(missing_ok=True)
        return True
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _unlock_file(path, fd)
    return True


def fetch_once(
    store: ChunkStore, channel: str, key: Key, fetch: Callable[[], np.ndarray], wait: bool
) -> tuple[bool, np.ndarray] | Any:
    """Chunk ``key`` of ``store``, fetched with ``fetch`` only if it is still
    missing or damaged once its lock is held.

    Returns:
        ``(fetched here, full chunk)``, or BUSY when ``wait`` is False and the lock is held
        by another thread or process.
    """
    with chunk_lock(store.chunk_path(channel, key), wait) as held:
        if not held:
            return BUSY
        _, chunk = store.load(channel, key)
        if chunk is not None:  # filled by another process or thread meanwhile
            return False, chunk
        return True, fetch()


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value

    def cancel(self) -> bool:
        return False


def map_chunks(
    fn: Callable[[T, bool], Any],
    items: Sequence[T],
    workers: int,
    progress: Any = None,
    stop: threading.Event | None = None,
) -> list[Any]:
    """``fn(item, wait)`` over ``items`` on up to ``workers`` threads; results in order.

    Every item is first tried with ``wait=False``; those that return BUSY (their chunk is
    being fetched elsewhere) are tried again with ``wait=True`` once all first tries have
    started. ``progress.update(1)`` is called per finished item; the first error is raised,
    after ``stop`` is set (so that items still running can end early: the pool waits for
    them). Each item runs in a copy of the caller's context (its fetch budget).
    """
    if len(items) <= 1 or workers == 1:
        return _map_with(lambda f, *a: _Done(f(*a)), fn, items, progress, stop)
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        def submit(f: Callable[..., Any], *args: Any) -> Future[Any]:
            return pool.submit(contextvars.copy_context().run, f, *args)

        return _map_with(submit, fn, items, progress, stop)


def _map_with(submit: Callable[..., Any], fn: Callable[[T, bool], Any], items: Sequence[T],
              progress: Any, stop: threading.Event | None = None) -> list[Any]:
    first: list[Future[Any] | _Done] = [submit(fn, item, False) for item in items]
    again: dict[int, Future[Any] | _Done] = {}
    results: list[Any] = [None] * len(items)
    try:
        for i, future in enumerate(first):
            value = future.result()
            if value is BUSY:
                again[i] = submit(fn, items[i], True)  # queued behind every first try
                continue
            results[i] = value
            if progress is not None:
                progress.update(1)
        for i, future in again.items():
            results[i] = future.result()
            if progress is not None:
                progress.update(1)
    except BaseException:
        if stop is not None:
            stop.set()
        for future in [*first, *again.values()]:
            future.cancel()
        raise
    return results
