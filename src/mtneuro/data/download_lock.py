"""One download per file: runs of ``mtneuro data download`` into one data root at once.

Two runs fetching one file both appended to its ``.part`` (a corrupted body, deleted), or
one moved it into place under the other (a ``.part`` that vanished mid-download). A
download therefore holds the lock of its destination from its first request until the
file is in place: a flock on ``.<name>.tmp-lock`` beside it, the lock of a cache chunk
(:func:`mtneuro.data.sources.cache_lock.file_lock`). A run that waited checks the file
again once it holds the lock, and one found verified is not fetched again. The kernel
drops a flock when its holder dies, so a killed run never blocks the next; where
locking is unavailable (no ``fcntl``, a file system without ``flock``) runs go on
unlocked, as before.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mtneuro.data.sources.cache_lock import file_lock, lock_path
from mtneuro.errors import DataError


@contextmanager
def download_lock(dest: Path, wait_s: float) -> Iterator[None]:
    """Hold the download lock of ``dest`` within the block, waiting up to ``wait_s`` for
    another process's download of it (said once, so that the wait is not a silent hang).

    Raises:
        DataError: another process kept the lock for ``wait_s`` (a stopped download).
    """
    with file_lock(dest, 0.0) as held:
        if held:
            yield
            return
    warnings.warn(f"another process is downloading {dest}; waiting for it to finish (up to "
                  f"{wait_s:.0f} s)", stacklevel=1)
    with file_lock(dest, wait_s) as held:
        if not held:
            raise DataError(f"{dest}: another process has held its download lock "
                            f"({lock_path(dest)}) for {wait_s:.0f} s; let it finish or stop "
                            "it, then rerun the download")
        yield
