"""On-disk layout of a cache: a Zarr v3 group with one checksum file per chunk.

::

    ROOT/mtneuro_cache.json        the cache's spec (format, shapes, channels, upstream's
                                   describe()) and the SHA-256 of it
    ROOT/zarr.json                 group metadata; attributes["mtneuro_cache"] holds the spec again
    ROOT/<channel>/zarr.json       uint8 array, regular chunks, blosc-lz4 codec
    ROOT/<channel>/c/<i>/<j>/<k>   chunk (i, j, k): blosc frame of the full chunk, C order
    ROOT/<channel>/_sha256/<i>.<j>.<k>
                                   "<sha256 of the chunk file> <size> <channel>/<i>.<j>.<k>\\n"
    ROOT/<channel>/c/<i>/<j>/.<k>.tmp-lock
                                   empty lock file of chunk (i, j, k) while it is being fetched
                                   (:mod:`mtneuro.data.sources.cache_lock`)
    ROOT/mtneuro_fetched           which chunks were ever stored, one byte each
                                   (:mod:`mtneuro.data.sources.cache_record`)

Zarr reads the store as is (``zarr.open_group(ROOT)``); chunks never fetched are
simply absent. Chunk files are written here rather than through zarr so that
every write is atomic (temporary file + ``os.replace``) and followed by its
checksum file, written the same way. A process killed at any moment therefore
leaves each chunk either absent, complete with its checksum, or without a
matching checksum, which readers treat as damaged and fetch again. A checksum
names its chunk, so a chunk file moved or copied to another position (with its
checksum file) is damaged there too. Stray temporary files (``.<name>.tmp-*``, lock
files included) are ignored by zarr and by chunk scans, and removed by repair (a lock file
only when nobody holds it). The metadata files are checked and rewritten from the spec by
:mod:`mtneuro.data.sources.cache_metadata`.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mtneuro.data.sources.cache_metadata import (
    MANIFEST,
    MetadataCheck,
    atomic_write,
    check_metadata,
    clear_file_path,
    make_spec,
    write_metadata,
)
from mtneuro.data.sources.cache_record import RECORD, FetchRecord
from mtneuro.data.sources.cache_temp import TMP_MARK, is_stale_temp
from mtneuro.errors import ConfigError, DataError

CHECKSUM_DIR = "_sha256"
Key = tuple[int, int, int]
Status = Literal["ok", "unfilled", "missing", "corrupted"]


def _codec() -> Any:
    from numcodecs import Blosc

    # Must match the array metadata below: blosc lz4, level 5, no shuffle (uint8).
    return Blosc(cname="lz4", clevel=5, shuffle=Blosc.NOSHUFFLE)


class ChunkStore:
    """Chunk files and checksums of one cache directory.

    Attributes:
        root: the store directory.
        shape: volume extent ``(Z, Y, X)``.
        chunk_shape: chunk extent ``(z, y, x)``.
        channels: channels stored.
        grid: number of chunks along each axis.
        upstream: the recorded ``describe()`` of the source that fills the cache.
    """

    def __init__(
        self,
        root: Path,
        shape: Sequence[int],
        chunk_shape: Sequence[int],
        channels: Sequence[str],
        upstream: dict[str, Any],
    ) -> None:
        self.root = Path(root)
        self.shape = tuple(int(s) for s in shape)
        self.chunk_shape = tuple(int(c) for c in chunk_shape)
        self.channels = tuple(channels)
        self.upstream = upstream
        self.grid = tuple(-(-s // c) for s, c in zip(self.shape, self.chunk_shape))
        self.record = FetchRecord(self.root, self.channels, self.grid)
        self._codec = _codec()

    # -- creating and opening -----------------------------------------------------------
    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / "zarr.json").is_file() or (Path(root) / MANIFEST).is_file()

    @classmethod
    def create(
        cls,
        root: Path,
        shape: Sequence[int],
        chunk_shape: Sequence[int],
        channels: Sequence[str],
        upstream: dict[str, Any],
    ) -> ChunkStore:
        """Write the metadata of a new, empty cache (its empty record of stored chunks,
        channels, then group, then manifest).

        A directory holding only channel folders without chunks (and a record) is an
        unfinished creation that the next ``create`` simply redoes; chunks whose cache
        metadata are gone could be of any source or chunk shape, so such a folder is refused.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"cache: {root} exists and is not a directory")
        # A killed creation may have left a temporary metadata file: not the user's data.
        if root.is_dir() and any(p.name not in (*channels, RECORD) and TMP_MARK not in p.name
                                 for p in root.iterdir()):
            raise ConfigError(
                f"cache: {root} is not empty and is not an mtneuro cache; choose a new directory"
            )
        if any(next(cls._walk(root / c / sub, 3), None) is not None
               for c in channels for sub in ("c", CHECKSUM_DIR)):
            raise ConfigError(
                f"cache: {root} holds chunks but not the metadata that says what they are "
                f"(zarr.json, {MANIFEST}): they cannot be trusted; remove the folder or choose "
                "a new directory")
        if any(c < 1 for c in chunk_shape) or len(chunk_shape) != 3:
            raise ConfigError(f"chunk_shape: expected 3 positive ints, got {list(chunk_shape)}")
        spec = make_spec(shape, chunk_shape, channels, upstream)
        store = cls.from_spec(root, spec)
        store.record.reset()  # before the metadata: a cache that exists has its record
        write_metadata(root, spec)
        return store

    @classmethod
    def open(cls, root: Path) -> ChunkStore:
        """Open an existing cache whose metadata all match its recorded spec.

        Raises:
            DataError: metadata damaged (names the files and ``mtneuro data verify``), a
                format-1 cache (names the upgrade command), or no readable spec at all.
        """
        root = Path(root)
        check = check_metadata(root)
        if check.spec is None:
            raise DataError(
                f"cache: {root} is not a readable mtneuro cache ({check.problem}); it cannot "
                "be repaired: fetch the data again into a new directory"
            )
        if check.legacy:
            raise DataError(
                f"cache: {root} has format 1 (its chunk checksums do not name their chunk); "
                f"upgrade it in place with: mtneuro data verify --cache {root} --repair"
            )
        if check.damaged:
            raise DataError(
                f"cache: {root} has damaged or missing metadata ({', '.join(check.damaged)}); "
                f"rewrite it from the recorded spec with: mtneuro data verify --cache {root}"
            )
        return cls.from_spec(root, check.spec)

    @classmethod
    def from_spec(cls, root: Path, spec: dict[str, Any]) -> ChunkStore:
        return cls(root, spec["shape"], spec["chunk_shape"], spec["channels"], spec["upstream"])

    @classmethod
    def repair_metadata(cls, root: Path, check: MetadataCheck) -> int:
        """Rewrite the damaged metadata files of ``check`` from its spec.

        A format-1 cache first gets its checksums re-recorded (then its manifest and
        group metadata, so an upgrade killed half-way is simply run again).

        Returns:
            Number of checksums re-recorded (0 unless ``check.legacy``).
        """
        if check.spec is None:
            raise DataError(f"cache: {root} has no readable spec to repair from ({check.problem})")
        upgraded = cls.from_spec(root, check.spec).upgrade_checksums() if check.legacy else 0
        write_metadata(root, check.spec, check.damaged)
        return upgraded

    # -- paths and geometry ---------------------------------------------------------------
    def chunk_path(self, channel: str, key: Key) -> Path:
        return self.root / channel / "c" / str(key[0]) / str(key[1]) / str(key[2])

    def checksum_path(self, channel: str, key: Key) -> Path:
        return self.root / channel / CHECKSUM_DIR / f"{key[0]}.{key[1]}.{key[2]}"

    def bounds(self, key: Key) -> tuple[tuple[int, int], ...]:
        """Voxel ranges of chunk ``key``, clipped to the volume."""
        return tuple(
            (k * c, min((k + 1) * c, s)) for k, c, s in zip(key, self.chunk_shape, self.shape)
        )

    def keys_in(self, z: tuple[int, int], y: tuple[int, int], x: tuple[int, int]) -> list[Key]:
        """Chunks overlapping the half-open ranges, in C order."""
        axes = [
            range(lo // c, (hi - 1) // c + 1) for (lo, hi), c in zip((z, y, x), self.chunk_shape)
        ]
        return [(i, j, k) for i in axes[0] for j in axes[1] for k in axes[2]]

    # -- chunks ---------------------------------------------------------------------------
    def write(self, channel: str, key: Key, block: np.ndarray) -> np.ndarray:
        """Store ``block`` (the clipped chunk) as chunk ``key``; returns the full padded chunk."""
        full = self.padded(block)
        data = self._codec.encode(full)
        checksum = self.checksum_path(channel, key)
        # Invalidate first: between the two writes below the chunk must not look verified.
        clear_file_path(checksum)
        checksum.unlink(missing_ok=True)
        atomic_write(self.chunk_path(channel, key), data)
        atomic_write(checksum, self._record(channel, key, data).encode())
        self.record.mark(channel, key)  # last: a mark always stands for a stored chunk
        return full

    def padded(self, block: np.ndarray) -> np.ndarray:
        """The full chunk holding ``block`` (a chunk clipped at the volume's edge), zeros after."""
        full = np.zeros(self.chunk_shape, dtype=np.uint8)
        full[tuple(slice(0, n) for n in block.shape)] = block
        return full

    @staticmethod
    def _record(channel: str, key: Key, data: bytes) -> str:
        """The checksum line of chunk ``key``: hash, size and the chunk's own position."""
        position = f"{channel}/{key[0]}.{key[1]}.{key[2]}"
        return f"{hashlib.sha256(data).hexdigest()} {len(data)} {position}\n"

    def load(self, channel: str, key: Key) -> tuple[Status, np.ndarray | None]:
        """Status of chunk ``key`` and, when ``ok``, its verified full-chunk array."""
        status, data = self._check(channel, key)
        if data is None:
            return status, None
        # Decoded into numpy's own memory, which numpy backs with huge pages for large arrays:
        # random tiles copy out of it about 10% faster than out of a bytes object.
        array = np.empty(self.chunk_shape, dtype=np.uint8)
        self._codec.decode(data, out=array)
        array.flags.writeable = False
        return status, array

    def status(self, channel: str, key: Key) -> Status:
        return self._check(channel, key)[0]

    def _check(self, channel: str, key: Key) -> tuple[Status, bytes | None]:
        try:
            expected = _checksum_words(_read_file(self.checksum_path(channel, key)))
        except FileNotFoundError:
            expected = None
        except IsADirectoryError:  # a folder where the checksum belongs: nothing proven
            expected = []
        try:
            data = _read_file(self.chunk_path(channel, key))
        except FileNotFoundError:
            return ("unfilled" if expected is None else "missing"), None
        except IsADirectoryError:
            return "corrupted", None
        # No checksum: the writer died between chunk and checksum; the chunk is unproven.
        # A checksum naming another position: the files were moved or copied.
        if expected is None or expected != self._record(channel, key, data).split():
            return "corrupted", None
        # A chunk of another chunk shape (copied from another cache, checksum and all)
        # would decode into part of the array: Blosc's header holds the decoded size.
        if len(data) < 16 or int.from_bytes(data[4:8], "little") != math.prod(self.chunk_shape):
            return "corrupted", None
        return "ok", data

    def upgrade_checksums(self) -> int:
        """Re-record the format-1 checksums (hash and size only) of chunks that match them.

        Chunks that do not match keep their old checksum, so a scan finds them damaged.

        Returns:
            Number of checksums re-recorded.
        """
        done = 0
        for channel in self.channels:
            for key in sorted(self.keys_on_disk(channel)):
                try:
                    old = _checksum_words(_read_file(self.checksum_path(channel, key)))
                    data = _read_file(self.chunk_path(channel, key))
                except (FileNotFoundError, IsADirectoryError):
                    continue
                record = self._record(channel, key, data)
                if old == record.split()[:2]:
                    atomic_write(self.checksum_path(channel, key), record.encode())
                    done += 1
        return done

    # -- scanning -------------------------------------------------------------------------
    def keys_on_disk(self, channel: str) -> set[Key]:
        """Chunks with a chunk file or a checksum file (i.e. ever filled)."""
        keys: set[Key] = set()
        for path in self._walk(self.root / channel / "c", depth=3):
            if TMP_MARK not in path.name:
                keys.add(_parse_key(path.relative_to(self.root / channel / "c").parts))
        sums = self.root / channel / CHECKSUM_DIR
        if sums.is_dir():
            for entry in os.scandir(sums):
                if TMP_MARK not in entry.name:
                    keys.add(_parse_key(entry.name.split(".")))
        return {k for k in keys if all(0 <= i < g for i, g in zip(k, self.grid))}

    def temp_files(self) -> list[Path]:
        """Temporary files left by writers that were killed: gone processes of this host, or
        older than :data:`~mtneuro.data.sources.cache_temp.STALE_TEMP_S` (a younger one of
        an unknown writer may belong to a process writing now)."""
        tops = [(self.root, 1)] + [(self.root / c, 5) for c in self.channels]
        now = time.time()
        return [p for top, depth in tops for p in self._walk(top, depth)
                if TMP_MARK in p.name and is_stale_temp(p, now)]

    @staticmethod
    def _walk(top: Path, depth: int) -> Iterator[Path]:
        if not top.is_dir():
            return
        for entry in os.scandir(top):
            if entry.is_dir(follow_symlinks=False):
                if depth > 1:
                    yield from ChunkStore._walk(Path(entry.path), depth - 1)
            else:
                yield Path(entry.path)


def chunk_segments(rng: tuple[int, int], size: int) -> list[tuple[int, slice, slice]]:
    """(chunk index, slice into the output, slice into the chunk) of each chunk a range crosses."""
    lo, hi = rng
    first, last = lo // size, (hi - 1) // size
    if first == last:  # the common case of a tile inside one chunk along this axis
        return [(first, slice(0, hi - lo), slice(lo - first * size, hi - first * size))]
    out = []
    for k in range(first, last + 1):
        a, b = max(lo, k * size), min(hi, (k + 1) * size)
        out.append((k, slice(a - lo, b - lo), slice(a - k * size, b - k * size)))
    return out


def _read_file(path: Path) -> bytes:
    """The bytes of a chunk or checksum file.

    Raises:
        DataError: the file exists but cannot be read (permissions): it is the user's to
            fix, not a damaged chunk to delete and fetch again.
    """
    try:
        return path.read_bytes()
    except PermissionError:
        raise DataError(f"cache: {path} cannot be read (permission denied); fix its "
                        "permissions (e.g. chmod u+r), then run the command again") from None


def _checksum_words(raw: bytes) -> list[str]:
    """The fields of a checksum file; none (so no chunk matches) when it is not text, as
    when a disk or copy garbled it: the chunk is then treated as damaged and fetched again."""
    try:
        return raw.decode("ascii").split()
    except UnicodeDecodeError:
        return []


def _parse_key(parts: Sequence[str]) -> Key:
    try:
        i, j, k = (int(p) for p in parts)
    except ValueError:
        return (-1, -1, -1)  # not a chunk name: filtered out by the caller's grid check
    return (i, j, k)

