"""Which chunks a cache has ever stored: one byte per chunk in ``ROOT/mtneuro_fetched``.

A chunk lost later (its file and its checksum both gone) leaves no trace in the chunk
folders, so a scan alone would call it "never fetched", and a cache checked before going
offline would fail at its first read of that chunk. The record keeps the trace:
``mtneuro data verify`` reports such a chunk missing, and ``--repair`` fetches it again.

Layout: a header line naming the channels and the chunk grid, then one byte per chunk,
channel after channel (the spec's order), each channel's grid in C order: ``1`` once the
chunk was stored, 0 before (a hole: the file is sparse and grows as chunks are marked).
Marking a chunk writes its one byte in place, with no read-modify-write and no lock, so
the threads and processes filling one cache at once never undo each other's marks; it
is written after the chunk and its checksum, so a writer killed in between leaves a
stored chunk unmarked, which a scan finds on disk anyway.

A cache gets its record when it is made. A cache made by an older mtneuro has none and is
scanned as before (a chunk absent from disk counts as never fetched) until ``verify
--repair`` starts one from the chunks on disk; so does a record whose header or bytes are
damaged, or that is empty (truncated) (:meth:`FetchRecord.read` tells which).
"""

from __future__ import annotations

import errno
import math
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from mtneuro.data.sources.cache_metadata import atomic_write
from mtneuro.data.sources.cache_temp import temp_path

RECORD = "mtneuro_fetched"
MARK = b"1"
#: errors of a file system without hard links (FAT, exFAT, some network shares)
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV})

Key = tuple[int, int, int]


class FetchRecord:
    """The record of stored chunks of a cache with these channels and chunk grid."""

    def __init__(self, root: Path, channels: Sequence[str], grid: Sequence[int]) -> None:
        self.path = Path(root) / RECORD
        self.channels = tuple(channels)
        self.grid = tuple(int(g) for g in grid)
        self.per_channel = math.prod(self.grid)
        self.header = (f"mtneuro fetched chunks, format 1, channels {','.join(self.channels)}, "
                       f"grid {'x'.join(map(str, self.grid))}\n").encode()

    def reset(self) -> None:
        """An empty record (a new cache: nothing stored yet)."""
        atomic_write(self.path, self.header)

    def start(self, stored: Mapping[str, Iterable[Key]] | None = None) -> bool:
        """Start a record for a cache that has none (made by an older mtneuro, or its record
        removed as damaged), marking the chunks ``stored`` (found on disk by the caller).

        Made exclusively, before ``stored`` is marked: a chunk written meanwhile is marked
        by its writer if it found the record, else it was on disk before the caller's scan.

        Returns:
            False when another process started one first (it marks what it found).
        """
        if not self._create():
            return False
        for channel, keys in (stored or {}).items():
            for key in keys:
                self.mark(channel, key)
        return True

    def _create(self) -> bool:
        """Put a record holding only the header in place unless one is there (then False).

        Linked in whole, so that no reader ever finds it empty (an empty record is damaged,
        and would be removed under its starter); a file system without hard links gets it
        created exclusively, then written, as before.
        """
        tmp = temp_path(self.path)
        try:
            tmp.write_bytes(self.header)
            os.link(tmp, self.path)
        except FileExistsError:
            return False
        except OSError as err:
            if not tmp.is_file() or err.errno not in _NO_LINKS:
                raise
            return self._create_in_place()
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _create_in_place(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, self.header)
        finally:
            os.close(fd)
        return True

    def mark(self, channel: str, key: Key) -> None:
        """Record chunk ``key`` of ``channel`` as stored; nothing when there is no record."""
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except FileNotFoundError:  # a cache made before records: scanned as it always was
            return
        except OSError as err:  # the chunk is stored: not worth failing the read over
            warnings.warn(f"cache: cannot record stored chunks in {self.path} ({err}); a "
                          "chunk lost later will count as never fetched", stacklevel=3)
            return
        try:
            offset = len(self.header) + self._index(channel, key)
            if hasattr(os, "pwrite"):
                os.pwrite(fd, MARK, offset)
            else:  # pragma: no cover - Windows
                os.lseek(fd, offset, os.SEEK_SET)
                os.write(fd, MARK)
        finally:
            os.close(fd)

    def read(self) -> tuple[dict[str, set[Key]] | None, str]:
        """The stored chunks of each channel, or None and why not (``"absent"``: a cache
        made before records; ``"damaged"``: a header or byte that is not the record's)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None, "absent"
        except OSError:
            return None, "damaged"
        if not data:  # truncated: a record being started is linked in whole (_create)
            return None, "damaged"
        # a starter on a file system without hard links writes its header after creating it
        if len(data) < len(self.header) and self.header.startswith(data) and _young(self.path):
            return None, "absent"
        body = np.frombuffer(data, dtype=np.uint8, offset=min(len(data), len(self.header)))
        if not data.startswith(self.header) or len(body) > len(self.channels) * self.per_channel:
            return None, "damaged"
        if not np.all((body == 0) | (body == MARK[0])):
            return None, "damaged"
        stored: dict[str, set[Key]] = {}
        for i, channel in enumerate(self.channels):
            flat = np.flatnonzero(body[i * self.per_channel:(i + 1) * self.per_channel])
            stored[channel] = set(zip(*(axis.tolist() for axis in
                                        np.unravel_index(flat, self.grid))))
        return stored, ""

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def _index(self, channel: str, key: Key) -> int:
        i, j, k = key
        _, gy, gx = self.grid
        return self.channels.index(channel) * self.per_channel + (i * gy + j) * gx + k


def _young(path: Path, seconds: float = 60.0) -> bool:
    """Modified within ``seconds``: a record another process is starting, not a damaged one."""
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False
