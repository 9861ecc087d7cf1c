"""On-disk layout of a cache: a Zarr v3 group with one checksum file per chunk.

::

    ROOT/zarr.json                 group metadata; attributes["mtneuro_cache"] holds
                                   the format, chunk shape and the upstream's describe()
    ROOT/<channel>/zarr.json       uint8 array, regular chunks, blosc-lz4 codec
    ROOT/<channel>/c/<i>/<j>/<k>   chunk (i, j, k): blosc frame of the full chunk, C order
    ROOT/<channel>/_sha256/<i>.<j>.<k>
                                   "<sha256 of the chunk file> <size>\\n"

Zarr reads the store as is (``zarr.open_group(ROOT)``); chunks never fetched are
simply absent. Chunk files are written here rather than through zarr so that
every write is atomic (temporary file + ``os.replace``) and followed by its
checksum file, written the same way. A process killed at any moment therefore
leaves each chunk either absent, complete with its checksum, or without a
matching checksum, which readers treat as damaged and fetch again. Stray
temporary files (``.<name>.tmp-*``) are ignored by zarr and removed by repair.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mtneuro.errors import ConfigError, DataError

FORMAT = 1
ATTRS_KEY = "mtneuro_cache"
CHECKSUM_DIR = "_sha256"
_TMP_MARK = ".tmp-"
Key = tuple[int, int, int]
Status = Literal["ok", "unfilled", "missing", "corrupted"]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


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
        self._codec = _codec()

    # -- creating and opening -----------------------------------------------------------
    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / "zarr.json").is_file()

    @classmethod
    def create(
        cls,
        root: Path,
        shape: Sequence[int],
        chunk_shape: Sequence[int],
        channels: Sequence[str],
        upstream: dict[str, Any],
    ) -> ChunkStore:
        """Write the Zarr metadata of a new, empty cache.

        The group metadata is written last, so a directory without it is an
        unfinished creation that the next ``create`` simply redoes.
        """
        import zarr
        from zarr.codecs import BloscCodec

        root = Path(root)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"cache: {root} exists and is not a directory")
        if root.is_dir() and any(p.name not in channels for p in root.iterdir()):
            raise ConfigError(
                f"cache: {root} is not empty and is not an mtneuro cache; choose a new directory"
            )
        if any(c < 1 for c in chunk_shape) or len(chunk_shape) != 3:
            raise ConfigError(f"chunk_shape: expected 3 positive ints, got {list(chunk_shape)}")
        for channel in channels:
            zarr.create_array(
                store=str(root / channel),
                shape=tuple(shape),
                chunks=tuple(chunk_shape),
                dtype="uint8",
                fill_value=0,
                overwrite=True,
                compressors=BloscCodec(cname="lz4", clevel=5, shuffle="noshuffle", typesize=1),
            )
        attrs = {
            "format": FORMAT,
            "shape": list(shape),
            "chunk_shape": list(chunk_shape),
            "channels": list(channels),
            "upstream": upstream,
        }
        group = {"zarr_format": 3, "node_type": "group", "attributes": {ATTRS_KEY: attrs}}
        atomic_write(root / "zarr.json", json.dumps(group, indent=2, default=_jsonable).encode())
        return cls(root, shape, chunk_shape, channels, upstream)

    @classmethod
    def open(cls, root: Path) -> ChunkStore:
        root = Path(root)
        try:
            attrs = json.loads((root / "zarr.json").read_text())["attributes"][ATTRS_KEY]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(
                f"cache: {root} is not an mtneuro cache (no readable zarr.json with {ATTRS_KEY})"
            ) from None
        if attrs.get("format") != FORMAT:
            raise DataError(f"cache: {root} has format {attrs.get('format')!r}, expected {FORMAT}")
        return cls(root, attrs["shape"], attrs["chunk_shape"], attrs["channels"], attrs["upstream"])

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
        full = np.zeros(self.chunk_shape, dtype=np.uint8)
        full[tuple(slice(0, n) for n in block.shape)] = block
        data = self._codec.encode(full)
        checksum = self.checksum_path(channel, key)
        # Invalidate first: between the two writes below the chunk must not look verified.
        checksum.unlink(missing_ok=True)
        atomic_write(self.chunk_path(channel, key), data)
        atomic_write(checksum, f"{hashlib.sha256(data).hexdigest()} {len(data)}\n".encode())
        return full

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
            expected = self.checksum_path(channel, key).read_text().split()
        except FileNotFoundError:
            expected = None
        try:
            data = self.chunk_path(channel, key).read_bytes()
        except FileNotFoundError:
            return ("unfilled" if expected is None else "missing"), None
        # No checksum: the writer died between chunk and checksum; the chunk is unproven.
        if (
            expected is None
            or len(expected) != 2
            or expected != [hashlib.sha256(data).hexdigest(), str(len(data))]
        ):
            return "corrupted", None
        return "ok", data

    # -- scanning -------------------------------------------------------------------------
    def keys_on_disk(self, channel: str) -> set[Key]:
        """Chunks with a chunk file or a checksum file (i.e. ever filled)."""
        keys: set[Key] = set()
        for path in self._walk(self.root / channel / "c", depth=3):
            if _TMP_MARK not in path.name:
                keys.add(_parse_key(path.relative_to(self.root / channel / "c").parts))
        sums = self.root / channel / CHECKSUM_DIR
        if sums.is_dir():
            for entry in os.scandir(sums):
                if _TMP_MARK not in entry.name:
                    keys.add(_parse_key(entry.name.split(".")))
        return {k for k in keys if all(0 <= i < g for i, g in zip(k, self.grid))}

    def temp_files(self) -> list[Path]:
        """Temporary files left by writers that were killed."""
        return [
            p
            for c in self.channels
            for p in self._walk(self.root / c, depth=5)
            if _TMP_MARK in p.name
        ]

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


def _parse_key(parts: Sequence[str]) -> Key:
    try:
        i, j, k = (int(p) for p in parts)
    except ValueError:
        return (-1, -1, -1)  # not a chunk name: filtered out by the caller's grid check
    return (i, j, k)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (Path, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"cannot record {type(value).__name__} in the cache metadata")
