"""The tile splits this process has read, for the next reader asking for the same ones.

A bench worker runs cell after cell, and every task-1 cell of a setting (``pca``, ``nmf``,
``byol``, ...) reads the same train / val / test tiles, as do the two task-2 cells of a
setting; task 3's SSL pre-training reads training tiles the task-1 cells read at a finer
step. Rendering those tiles is seconds a cell; copying them is milliseconds.
:class:`~mtneuro.data.datasets.RegionTileDataset` and
:class:`~mtneuro.data.datasets.SegmentationTileDataset` therefore keep what they read in
:data:`SPLITS` and take it from there when the same split is asked for again.

Only a source whose :meth:`~mtneuro.data.sources.base.VolumeSource.content_key` says what
decides its bytes takes part (the phantom): a file, a server or an array in memory may
change under the same parameters. A key holds that and every argument that changes the
arrays; :func:`clear` empties the memory (tests that change what a source serves).

Every array handed out is a fresh copy, and the kept ones are read-only: a consumer may
write into what it got (several turn the arrays into tensors that share their memory)
without changing what the next one gets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]

#: Splits kept at once. The quick suite's workers ask for at most six (task 1's three,
#: task 2's two, task 3's pre-training one), whichever cells land in them.
MAX_ENTRIES = 6
#: Bytes kept at once (the oldest use goes first). The quick suite's splits are ~30 MiB;
#: the three splits of the largest full-preset task-1 setting (ROI-C3) are ~345 MiB, which
#: this holds, so that setting's cells share them too. Each of ``--jobs N`` workers keeps its
#: own, at most this; a cell holds its own copy of the same splits while it runs anyway.
MAX_BYTES = 512 * 2**20


class SplitMemory:
    """A bounded least-recently-used map of split keys to their arrays.

    Args:
        max_entries: splits kept at most (0 keeps none).
        max_bytes: bytes kept at most; a split larger than this is not kept.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[Hashable, Arrays] = OrderedDict()
        # datasets may be built from several threads (a DataLoader's, a user's)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(_size(arrays) for arrays in self._entries.values())

    def recall(self, key: Hashable) -> Arrays | None:
        """Copies of the arrays kept under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            arrays = self._entries.get(key)
            if arrays is None:
                return None
            self._entries.move_to_end(key)
        return {name: array.copy() for name, array in arrays.items()}

    def keep(self, key: Hashable, arrays: Arrays) -> None:
        """Keep read-only copies of ``arrays`` under ``key``, forgetting the least recently
        used splits past the bounds."""
        size = _size(arrays)
        if self.max_entries < 1 or size > self.max_bytes:
            return
        kept = {name: _frozen_copy(array) for name, array in arrays.items()}
        with self._lock:
            self._entries[key] = kept
            self._entries.move_to_end(key)
            while (len(self._entries) > self.max_entries
                   or sum(map(_size, self._entries.values())) > self.max_bytes):
                self._entries.popitem(last=False)

    def items(self) -> Iterator[tuple[Hashable, Arrays]]:
        """The kept keys and their read-only arrays, most recent first (a snapshot)."""
        with self._lock:
            return iter(list(reversed(self._entries.items())))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def remembered(self, key: Hashable | None, read: Callable[[], Arrays], *,
                   derive: Callable[[Hashable, Arrays], Arrays | None] | None = None,
                   on_hit: Callable[[Arrays], None] | None = None) -> Arrays:
        """The arrays of ``key``: kept ones (copies), else ``derive`` from a kept split (a
        key and its arrays: ``None`` where it cannot), else ``read()`` and kept. A ``None``
        key (a source without a content key) is always read and never kept. ``on_hit`` is
        told of arrays that were not read."""
        if key is None:
            return read()
        arrays = self.recall(key)
        if arrays is None and derive is not None:
            arrays = next((got for kept in self.items() if (got := derive(*kept)) is not None),
                          None)
            if arrays is not None:
                self.keep(key, arrays)
        if arrays is not None:
            self.hits += 1
            if on_hit is not None:
                on_hit(arrays)
            return arrays
        self.misses += 1
        arrays = read()
        self.keep(key, arrays)
        return arrays


def _size(arrays: Arrays) -> int:
    return sum(array.nbytes for array in arrays.values())


def _frozen_copy(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


def source_key(source: Any) -> Hashable | None:
    """``source``'s content key (``None`` for an object without one: a duck-typed source)."""
    content_key = getattr(source, "content_key", None)
    return content_key() if callable(content_key) else None


#: This process's memory of tile splits.
SPLITS = SplitMemory()


def clear() -> None:
    """Forget every split this process kept (e.g. after changing what a source serves)."""
    SPLITS.clear()
