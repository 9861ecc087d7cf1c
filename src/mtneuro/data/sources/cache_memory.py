"""Decoded cache chunks kept in memory, least recently used first out.

A chunk enters only after its checksum was verified, so reads from memory are
as trustworthy as the disk check that admitted them; the byte budget bounds the
memory each process (e.g. each DataLoader worker) spends on them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from mtneuro.data.sources.cache_store import Key


class ChunkMemory:
    """Thread-safe least-recently-used map of decoded chunks, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, Key], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_many(self, channel: str, keys: list[Key]) -> dict[Key, np.ndarray]:
        """The chunks of ``keys`` held in memory (one lock round-trip for all)."""
        found = {}
        with self._lock:
            for key in keys:
                value = self._items.get((channel, key))
                if value is not None:
                    self._items.move_to_end((channel, key))
                    found[key] = value
        return found

    def put(self, key: tuple[str, Key], value: np.ndarray) -> None:
        if value.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += value.nbytes - (old.nbytes if old is not None else 0)
            self._items[key] = value
            while self._bytes > self.max_bytes:
                self._bytes -= self._items.popitem(last=False)[1].nbytes

    def drop(self, key: tuple[str, Key]) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
