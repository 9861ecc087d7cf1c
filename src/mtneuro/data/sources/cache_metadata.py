"""The metadata of a cache: its spec, kept twice, and the Zarr files derived from it.

A cache's *spec* (format, volume shape, chunk shape, channels, the upstream's
``describe()``) is recorded at creation in two places: ``mtneuro_cache.json``
(the manifest: the spec plus the SHA-256 of its canonical JSON) and the
attributes of the group's ``zarr.json``. Every Zarr metadata file (the group's
``zarr.json`` and each ``<channel>/zarr.json``) is a pure function of the spec, so
:func:`check_metadata` can tell a file that is unreadable, missing or altered,
and :func:`write_metadata` can write it again. The manifest is trusted when its
checksum holds; otherwise the group attributes stand in (and the manifest is
rewritten from them). With neither readable, nothing can be repaired.

Format 1 (before checksums named their chunk) has no manifest; its spec comes
from the group attributes and the cache is upgraded by ``mtneuro data verify
--repair`` (:meth:`~mtneuro.data.sources.cache_store.ChunkStore.upgrade_checksums`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.data.sources.base import CHANNELS
from mtneuro.data.sources.cache_temp import temp_path
from mtneuro.errors import DataError

FORMAT = 2
LEGACY_FORMAT = 1
MANIFEST = "mtneuro_cache.json"
ATTRS_KEY = "mtneuro_cache"
def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_file_path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)  # a failed write leaves nothing of its own behind
        if err.filename is None:  # a write to a handle names no file (a full disk): this one
            err.filename = str(path)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def clear_file_path(path: Path) -> None:
    """Make room for a file of the cache at ``path``: an empty folder standing there (the
    cache never makes one) is removed; a folder holding files is the user's to move.

    Raises:
        DataError: a folder with contents stands where the file belongs.
    """
    if path.is_dir() and not path.is_symlink():
        try:
            path.rmdir()
        except OSError:
            raise DataError(f"cache: {path} is a folder holding files where a file of the "
                            "cache belongs; move it away, then run mtneuro data verify "
                            "--repair") from None


def make_spec(
    shape: Any, chunk_shape: Any, channels: Any, upstream: dict[str, Any]
) -> dict[str, Any]:
    """The spec of a new cache, as plain JSON values (what reading it back gives)."""
    spec = {
        "format": FORMAT,
        "shape": list(shape),
        "chunk_shape": list(chunk_shape),
        "channels": list(channels),
        "upstream": upstream,
    }
    return json.loads(json.dumps(spec, default=_jsonable))


def group_metadata(spec: dict[str, Any]) -> dict[str, Any]:
    return {"zarr_format": 3, "node_type": "group", "attributes": {ATTRS_KEY: spec}}


def array_metadata(spec: dict[str, Any]) -> dict[str, Any]:
    """Zarr v3 metadata of one channel: uint8, regular chunks, blosc lz4 level 5, no shuffle.

    The codec must match :func:`mtneuro.data.sources.cache_store._codec`; this is the
    document zarr-python 3 itself writes for such an array.
    """
    blosc = {"typesize": 1, "cname": "lz4", "clevel": 5, "shuffle": "noshuffle", "blocksize": 0}
    return {
        "shape": list(spec["shape"]),
        "data_type": "uint8",
        "chunk_grid": {
            "name": "regular", "configuration": {"chunk_shape": list(spec["chunk_shape"])}
        },
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes"}, {"name": "blosc", "configuration": blosc}],
        "attributes": {},
        "zarr_format": 3,
        "node_type": "array",
        "storage_transformers": [],
    }


def manifest(spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": spec, "sha256": _digest(spec)}


def expected_files(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Relative path -> JSON document of every metadata file, in the order they are written.

    The manifest comes last: a creation killed before it leaves a cache that
    ``verify`` completes from the group attributes.
    """
    files = {f"{c}/zarr.json": array_metadata(spec) for c in spec["channels"]}
    files["zarr.json"] = group_metadata(spec)
    files[MANIFEST] = manifest(spec)
    return files


@dataclass
class MetadataCheck:
    """Outcome of :func:`check_metadata`.

    Attributes:
        spec: the trusted spec (format 2), or None when no copy of it is readable.
        damaged: metadata files (relative paths) that are unreadable, missing or altered.
        legacy: a format-1 cache, whose chunk checksums do not name their chunk yet.
        problem: why there is no spec (when ``spec`` is None).
    """

    spec: dict[str, Any] | None
    damaged: list[str] = field(default_factory=list)
    legacy: bool = False
    problem: str = ""


def check_metadata(root: Path) -> MetadataCheck:
    """Compare every metadata file of the cache at ``root`` with what its spec says it must be."""
    root = Path(root)
    recorded = _read_json(root / MANIFEST)
    spec = recorded.get("spec") if isinstance(recorded, dict) else None
    legacy = False
    trusted = _valid_spec(spec) and spec["format"] == FORMAT
    if not (trusted and recorded.get("sha256") == _digest(spec)):
        group = _read_json(root / "zarr.json")
        attrs = group.get("attributes", {}).get(ATTRS_KEY) if isinstance(group, dict) else None
        if not _valid_spec(attrs):
            return MetadataCheck(None, problem=f"neither {MANIFEST} nor zarr.json holds a readable "
                                 "cache spec")
        if attrs["format"] not in (FORMAT, LEGACY_FORMAT):
            return MetadataCheck(None, problem=f"format {attrs['format']!r} is unknown "
                                 f"(this version reads {LEGACY_FORMAT} and {FORMAT})")
        legacy = attrs["format"] == LEGACY_FORMAT
        spec = {**attrs, "format": FORMAT}
    damaged = [name for name, doc in expected_files(spec).items() if _read_json(root / name) != doc]
    return MetadataCheck(spec, damaged, legacy)


def write_metadata(root: Path, spec: dict[str, Any], names: list[str] | None = None) -> None:
    """Write the metadata files ``names`` (default all) of ``spec`` atomically, in order."""
    for name, doc in expected_files(spec).items():
        if names is None or name in names:
            atomic_write(Path(root) / name, json.dumps(doc, indent=2).encode())


def _digest(spec: Any) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (Path, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"cannot record {type(value).__name__} in the cache metadata")


def _valid_spec(spec: Any) -> bool:
    """A spec whose values are safe to build paths and arrays from."""
    if not isinstance(spec, dict) or not isinstance(spec.get("upstream"), dict):
        return False
    shapes = [spec.get("shape"), spec.get("chunk_shape")]
    channels = spec.get("channels")
    return (
        isinstance(spec.get("format"), int)
        and all(isinstance(s, list) and len(s) == 3 and all(type(v) is int and v > 0 for v in s)
                for s in shapes)
        and isinstance(channels, list) and bool(channels)
        and all(c in CHANNELS for c in channels) and len(set(channels)) == len(channels)
        and isinstance(spec["upstream"].get("source"), str)
        and isinstance(spec["upstream"].get("params"), dict)
    )
