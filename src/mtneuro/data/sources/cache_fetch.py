"""Filling a cache from the command line: check everything first, leave nothing behind on failure.

:func:`fill_cache` is what ``mtneuro data fetch`` runs. A rejected argument (a range
outside the volume, an unknown channel, a bad chunk shape) fails before anything is
written, and a new cache whose first fill fails before storing a chunk is removed
again, so a failed fetch leaves only what existed before it (and never what another
fetch made meanwhile).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mtneuro.data.sources.base import CHANNELS, Range, VolumeSource
from mtneuro.data.sources.cache import CacheSource, FillReport
from mtneuro.data.sources.cache_lock import directory_lock
from mtneuro.data.sources.cache_metadata import MANIFEST
from mtneuro.data.sources.cache_record import RECORD
from mtneuro.data.sources.cache_store import ChunkStore
from mtneuro.data.sources.cache_temp import TMP_MARK
from mtneuro.data.sources.cache_upstream import open_upstream


def fill_cache(
    root: str | Path,
    upstream: str | VolumeSource | None = None,
    upstream_params: Mapping[str, Any] | None = None,
    chunk_shape: Sequence[int] | str | None = None,
    workers: int = 4,
    ranges: Sequence[Range | None] = (None, None, None),
    channels: Iterable[str] | None = None,
    progress: bool = False,
) -> tuple[CacheSource, FillReport]:
    """Open or create the cache at ``root`` and fill a block (``mtneuro data fetch``).

    Every argument is checked before anything is written; for a new cache, the
    ranges and channels against the upstream. A new cache whose first fill fails
    before storing any chunk (a bad server answer, Ctrl-C) is removed again, leaving
    only what existed before; once chunks are stored they are kept, so a rerun resumes.

    Args:
        root, upstream, upstream_params, chunk_shape, workers: as :class:`CacheSource`.
        ranges: half-open ``(z, y, x)`` ranges; None = the whole axis.
        channels: default all channels.
        progress: show a progress bar (only on a terminal).
    """
    root = Path(root).expanduser().resolve()  # recorded in run records: never relative
    if ChunkStore.exists(root) or upstream is None:
        cache = CacheSource(root, upstream, upstream_params, chunk_shape, workers)
        return cache, cache.fill(*ranges, channels=channels, progress=progress)
    source = (
        upstream
        if isinstance(upstream, VolumeSource)
        else open_upstream(upstream, dict(upstream_params or {}))
    )
    source.check_request(ranges, channels, f"source {source.name}")
    existed = _cache_paths(root)
    cache = None
    try:
        cache = CacheSource(root, source, chunk_shape=chunk_shape, workers=workers)
        return cache, cache.fill(*ranges, channels=channels, progress=progress)
    except BaseException:
        if cache is None or cache.created:  # never a cache this process only opened
            _remove_failed_creation(root, existed, cache)
        raise


def _remove_failed_creation(root: Path, existed: set[Path], cache: CacheSource | None) -> None:
    """Remove what this process's failed creation of a cache at ``root`` wrote, under the
    folder's lock: not when chunks are stored (a rerun resumes), nor when the cache that
    stands there is another process's (ours failed before making one: e.g. refused
    because another fetch made it meanwhile with other settings)."""
    with directory_lock(root, make=False):
        if cache is None and ChunkStore.exists(root):
            return
        if cache is not None and any(cache.store.keys_on_disk(c) for c in cache.channels):
            return
        _remove_new_paths(root, existed)


def _cache_paths(root: Path) -> set[Path]:
    """The paths creating a cache at ``root`` may write, or temporary files, that exist now."""
    candidates = [root, root / MANIFEST, root / "zarr.json", root / RECORD]
    candidates += [p for c in CHANNELS for p in (root / c, root / c / "zarr.json")]
    found = {p for p in candidates if p.exists()}
    return found | (set(root.glob(f".*{TMP_MARK}*")) if root.is_dir() else set())


def _remove_new_paths(root: Path, existed: set[Path]) -> None:
    """Remove what a failed creation at ``root`` wrote; paths in ``existed`` stay."""
    for path in sorted(_cache_paths(root) - existed, key=lambda p: len(p.parts), reverse=True):
        if path == root:
            continue
        if path.is_dir():
            shutil.rmtree(path)  # a channel folder this creation made: only its files inside
        else:
            path.unlink(missing_ok=True)
    if root not in existed and root.is_dir() and not any(root.iterdir()):
        root.rmdir()
