"""A chunk's cache lock held by another thread of this process, for the length of a block."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from mtneuro.data.sources.cache_lock import chunk_lock


@contextlib.contextmanager
def lock_held_by_another_thread(chunk: Path) -> Iterator[threading.Thread]:
    """Within the block a second thread holds ``chunk_lock(chunk)``; it is released and the
    thread joined afterwards. Yields the holding thread. Fails if the lock is not taken."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with chunk_lock(chunk) as held:
            if held:  # else ``holding`` never sets and the wait below fails
                holding.set()
                release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10), f"the lock of {chunk} was not taken"
        yield holder
    finally:
        release.set()
        holder.join(10)
