"""Reading a cache this process may not write: chunks it lacks are fetched and used, not stored.

A cache shared read-only (a lab's copy on a read-only mount, another user's folder) is a
normal setup, so a read that needs a chunk the cache lacks is served from the upstream as
usual, and only the storing is skipped. One warning per process and cache says so: every
run fetches those chunks again until someone who can write the cache fills it. Filling and
repairing (``mtneuro data fetch``, ``mtneuro data verify --repair``) exist to store, so they
still refuse such a cache, before fetching anything.
"""

from __future__ import annotations

import errno
import threading
import warnings
from pathlib import Path

import numpy as np

from mtneuro.data.sources.cache_store import ChunkStore, Key

#: errors of a place this process may not write (ownership, mode, a read-only mount)
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_warned: set[Path] = set()
_warned_lock = threading.Lock()  # the worker threads of one read fetch chunks at once


def store_if_allowed(store: ChunkStore, channel: str, key: Key, block: np.ndarray) -> np.ndarray:
    """Store ``block`` as chunk ``key`` where the cache may be written; the full chunk.

    Raises:
        OSError: any other failure to write (a full disk is not a read-only cache).
    """
    try:
        return store.write(channel, key, block)
    except OSError as err:
        if err.errno not in REFUSED:
            raise
        _warn_once(store.root, err)
        return store.padded(block)


def _warn_once(root: Path, err: OSError) -> None:
    with _warned_lock:
        if root in _warned:
            return
        _warned.add(root)
    # the folder that refused, not the temporary file of the write
    folder = Path(err.filename).parent if err.filename else root
    warnings.warn(f"cache {root}: cannot store chunks in it ({err.strerror} in {folder}); "
                  "chunks it lacks are fetched for this process and not kept, so every run "
                  "fetches them again; to keep them, fill it as a user who may write it (mtneuro "
                  f"data fetch --cache {root} ...) or read through a cache of your own",
                  stacklevel=2)
