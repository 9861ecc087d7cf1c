"""A local chunked cache in front of any volume source, filled lazily.

``open_source("cache", root=DIR, upstream="bossdb")`` serves the upstream's
volume from a Zarr v3 store in ``DIR`` (layout in
:mod:`mtneuro.data.sources.cache_store`). A read fetches the chunks it needs
and does not have yet; every chunk read from disk is checked against its
recorded SHA-256 first, and a damaged or half-written one is fetched again, so a
corrupted chunk is never served. The upstream's ``describe()`` is stored with
the data, so a cache can be reopened, verified and repaired with only its
directory, and a filled cache needs no network at all (the upstream is only
created when a chunk is missing).

Verified chunks are kept decoded in memory (least recently used first out,
``memory_mb``): repeated random 256 x 256 tile reads then cost about 2-2.5x
those from an in-memory array (the pieces of a tile that crosses chunk edges
are copied separately), first reads about 6x (read, SHA-256, decode); see
``benchmarks/data_throughput.py``.

Processes and threads filling one cache at once fetch each missing chunk once: a
per-chunk lock is taken and the chunk checked again before fetching
(:mod:`mtneuro.data.sources.cache_lock`). The chunks of one fill or read share one retry
budget (:mod:`mtneuro.data.sources.fetch_budget`), so a dead server costs it once. Every
chunk stored is recorded (:mod:`mtneuro.data.sources.cache_record`), so one lost later is
reported missing by a scan (:mod:`mtneuro.data.sources.cache_verify`), not never fetched.
The upstream may serve the data from another address than the one that filled the cache
(:mod:`mtneuro.data.sources.cache_upstream`). A cache this process may not write still
serves reads, fetching what it lacks without storing it
(:mod:`mtneuro.data.sources.cache_unstored`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.data.sources.base import SOURCES, Range, VolumeSource
from mtneuro.data.sources.cache_lock import (
    BUSY,
    directory_lock,
    fetch_once,
    is_lock_file,
    map_chunks,
    remove_lock_file,
)
from mtneuro.data.sources.cache_memory import ChunkMemory
from mtneuro.data.sources.cache_store import ChunkStore, Key, chunk_segments
from mtneuro.data.sources.cache_unstored import store_if_allowed
from mtneuro.data.sources.cache_upstream import (
    check_given_params,
    check_upstream,
    offline_hint,
    open_upstream,
)
from mtneuro.data.sources.cache_verify import VerifyReport, scan_cache
from mtneuro.data.sources.fetch_budget import shared_budget
from mtneuro.data.sources.params import number_at_least, parse_shape
from mtneuro.errors import ConfigError, DataError
from mtneuro.progress import LoopProgress

#: One Boss storage cuboid (z 16, y 512, x 512): a chunk fill is one cuboid read on the server,
#: and a random 256 x 256 tile crosses 2.25 chunks on average (4 with 256 x 256 chunks), which
#: measured fastest in benchmarks/data_throughput.py.
DEFAULT_CHUNK_SHAPE = (16, 512, 512)
#: Largest chunk (voxels = bytes of uint8): a read decodes whole chunks, one per worker.
MAX_CHUNK_VOXELS = 256 * 2**20


@dataclass
class FillReport:
    """Outcome of :meth:`CacheSource.fill`: chunks fetched now vs already valid."""

    fetched: int = 0
    present: int = 0


#: Seconds a failure to open the upstream is given again to later requests (the other
#: chunks of the same read) instead of another attempt with its own retry budget.
UPSTREAM_FAILURE_HOLD_S = 60.0


@SOURCES.register("cache")
class CacheSource(VolumeSource):
    """A chunked, checksummed local copy of an upstream source.

    Args:
        root: cache directory (created on first use).
        upstream: source name or object filling the cache. Required to create a
            cache; for an existing one it defaults to the recorded upstream, and a
            different data source is refused.
        upstream_params: keyword arguments of a named upstream (merged over the
            recorded ones when the cache exists, e.g. to change ``workers``).
        chunk_shape: ``(z, y, x)`` voxels per chunk of a new cache; checked against
            an existing one.
        workers: threads fetching missing chunks in parallel.
        memory_mb: budget for decoded chunks kept in memory.

    Raises:
        ConfigError: no upstream for a new cache, or an upstream that does not match.
        DataError: ``root`` is not a readable cache.
    """

    name = "cache"

    def __init__(
        self,
        root: str | Path,
        upstream: str | VolumeSource | None = None,
        upstream_params: Mapping[str, Any] | None = None,
        chunk_shape: Sequence[int] | str | None = None,
        workers: int = 4,
        memory_mb: float = 256.0,
    ) -> None:
        root = Path(root).expanduser().resolve()  # recorded in run records: never relative
        self.check_params({"chunk_shape": chunk_shape, "workers": workers, "memory_mb": memory_mb})
        wanted_chunks = parse_shape(chunk_shape, "chunk_shape") if chunk_shape is not None else None
        self.workers = int(workers)
        self.memory_mb = float(memory_mb)
        self._upstream: VolumeSource | None = (
            upstream if isinstance(upstream, VolumeSource) else None
        )
        self._upstream_lock = threading.Lock()
        self._upstream_failed: tuple[float, DataError] | None = None
        #: this object made the cache (a failed first fill may remove it), or opened one
        self.created = False
        if not ChunkStore.exists(root) and self._upstream is None and upstream is not None:
            # opened before the lock below: a remote source can take a while
            self._upstream = open_upstream(str(upstream), dict(upstream_params or {}))
        # Of processes creating one cache at once, the first creates it and the others open it.
        with directory_lock(root, make=self._upstream is not None):
            if ChunkStore.exists(root):
                self._open_existing(root, upstream, upstream_params, wanted_chunks)
            elif self._upstream is None:
                raise ConfigError(
                    f"cache: {root} is not a cache yet; name an upstream source to fill it "
                    "(--source-param upstream=NAME with --source cache, or --source NAME "
                    "with --cache DIR, e.g. phantom)"
                )
            else:
                info = self._upstream.describe()
                self._spec = (info["source"], dict(info["params"]))
                self.store = ChunkStore.create(root, self._upstream.shape,
                                               wanted_chunks or DEFAULT_CHUNK_SHAPE,
                                               self._upstream.channels, info)
                self.created = True
        self._memory = ChunkMemory(int(self.memory_mb * 2**20))
        super().__init__(self.store.shape, self.store.channels)

    def _open_existing(self, root: Path, upstream: str | VolumeSource | None,
                       upstream_params: Mapping[str, Any] | None,
                       wanted_chunks: tuple[int, ...] | None) -> None:
        self.store = ChunkStore.open(root)
        if wanted_chunks is not None and wanted_chunks != self.store.chunk_shape:
            raise ConfigError(
                f"chunk_shape: cache {root} has chunks {list(self.store.chunk_shape)}, "
                f"got {list(wanted_chunks)}"
            )
        recorded = self.store.upstream
        name = upstream.name if isinstance(upstream, VolumeSource) else upstream
        if (name or recorded["source"]) != recorded["source"]:
            raise ConfigError(
                f"upstream: cache {root} holds data of source {recorded['source']!r}, "
                f"not {name!r}; use another --cache directory"
            )
        self._spec = (recorded["source"], {**recorded["params"], **dict(upstream_params or {})})
        if self._upstream is not None:  # given, or opened for a cache another process created
            check_upstream(self.store, self._upstream, root)
        elif upstream_params:
            check_given_params(self.store.upstream, dict(upstream_params), root)

    def __getstate__(self) -> dict[str, Any]:
        # Locks cannot be pickled and decoded chunks are not worth copying to a worker process.
        state = self.__dict__.copy()
        for key in ("_memory", "_upstream_lock"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._memory = ChunkMemory(int(self.memory_mb * 2**20))
        self._upstream_lock = threading.Lock()

    # -- description ------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.store.root

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        if params.get("chunk_shape") is not None:
            shape = parse_shape(params["chunk_shape"], "chunk_shape")
            if math.prod(shape) > MAX_CHUNK_VOXELS:  # every read decodes whole chunks
                raise ConfigError(
                    f"chunk_shape {','.join(map(str, shape))}: {math.prod(shape) / 2**20:,.0f} "
                    f"MiB a chunk; at most {MAX_CHUNK_VOXELS // 2**20} MiB (the default "
                    f"{','.join(map(str, DEFAULT_CHUNK_SHAPE))} is "
                    f"{math.prod(DEFAULT_CHUNK_SHAPE) // 2**20} MiB)")
        number_at_least(params.get("workers", 4), "workers", int, 1)
        number_at_least(params.get("memory_mb", 256.0), "memory_mb", float, 0.0)
        if isinstance(params.get("upstream"), str):
            from mtneuro.data.sources import source_params

            source_params(params["upstream"], params.get("upstream_params") or {})

    def params(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "chunk_shape": list(self.store.chunk_shape),
            "workers": self.workers,
            "memory_mb": self.memory_mb,
        }

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["upstream"] = self.store.upstream
        return info

    @property
    def upstream(self) -> VolumeSource:
        """The source that fills missing chunks, created on first need."""
        with self._upstream_lock:
            if self._upstream is None:
                # The worker threads of one read wait here in turn: one failure, with its
                # whole retry budget, stands for all of them instead of one budget each.
                failed = self._upstream_failed
                if failed is not None and time.monotonic() - failed[0] < UPSTREAM_FAILURE_HOLD_S:
                    raise failed[1]
                name, params = self._spec
                try:
                    source = open_upstream(name, params)
                except ConfigError as err:
                    error = DataError(f"cache {self.root}: cannot recreate its upstream {name!r} "
                                      f"to fetch missing chunks ({err})")
                    self._upstream_failed = (time.monotonic(), error)
                    raise error from None
                except DataError as err:  # unreachable after its retries, for one
                    self._upstream_failed = (time.monotonic(), err)
                    raise
                check_upstream(self.store, source, self.root)
                self._upstream = source
            return self._upstream

    # -- reading ------------------------------------------------------------------------
    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        cz, cy, cx = self.store.chunk_shape
        zs, ys, xs = chunk_segments(z, cz), chunk_segments(y, cy), chunk_segments(x, cx)
        keys = [(kz, ky, kx) for kz, _, _ in zs for ky, _, _ in ys for kx, _, _ in xs]
        chunks = self._chunks(channel, keys)
        if len(keys) == 1:
            return chunks[keys[0]][zs[0][2], ys[0][2], xs[0][2]].copy()
        out = np.empty((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
        for kz, dz, sz in zs:
            for ky, dy, sy in ys:
                for kx, dx, sx in xs:
                    out[dz, dy, dx] = chunks[(kz, ky, kx)][sz, sy, sx]
        return out

    def _chunks(self, channel: str, keys: list[Key]) -> dict[Key, np.ndarray]:
        """Verified full chunks for ``keys``; missing or damaged ones are fetched."""
        found = self._memory.get_many(channel, keys)
        todo = []
        for key in keys:
            if key in found:
                continue
            _, chunk = self.store.load(channel, key)
            if chunk is None:
                todo.append(key)
            else:
                self._memory.put((channel, key), chunk)
                found[key] = chunk
        if not todo:
            return found
        # a lazily filled cache reads through to its upstream: say so when it takes a while
        with LoopProgress(f"cache {self.root.name}: fetching {channel} from {self._spec[0]}",
                          len(todo), unit="chunks") as progress:
            fetched = self._fetch_all(
                lambda k, wait: fetch_once(self.store, channel, k,
                                           lambda: self._fetch(channel, k, reading=True), wait),
                todo, progress)
        for key, (_, chunk) in zip(todo, fetched):
            self._memory.put((channel, key), chunk)
            found[key] = chunk
        return found

    def _fetch(self, channel: str, key: Key, reading: bool = False) -> np.ndarray:
        (z, y, x) = self.store.bounds(key)
        block = self.upstream.read_channel(channel, z, y, x)
        if reading:  # a read-only cache still serves reads; filling and repairing must store
            return store_if_allowed(self.store, channel, key, block)
        return self.store.write(channel, key, block)

    def _fetch_all(self, fn: Callable[[Any, bool], Any], jobs: Sequence[Any],
                   progress: Any) -> list[Any]:
        """``map_chunks(fn, jobs)`` as one job with one retry budget
        (:mod:`mtneuro.data.sources.fetch_budget`): its upstream reads stop retrying at one
        deadline, and the first chunk that fails for good stops the others, so a dead server
        costs the budget once, not once per chunk."""
        # A cache being made here is no cache to repair yet: the source's own hint then.
        hint = None if self.created else offline_hint(self.root, self.store.upstream)
        with shared_budget(hint) as budget:
            def job(item: Any, wait: bool) -> Any:
                budget.check()  # another chunk failed for good: fetch nothing more
                try:
                    return fn(item, wait)
                except BaseException as exc:
                    budget.fail(exc)
                    raise

            return map_chunks(job, jobs, self.workers, progress, stop=budget.cancel)

    # -- filling and verifying ------------------------------------------------------------
    def fill(
        self,
        z: Range | None = None,
        y: Range | None = None,
        x: Range | None = None,
        channels: Iterable[str] | None = None,
        progress: bool = False,
    ) -> FillReport:
        """Make every chunk overlapping the ranges present and valid.

        Chunks already valid on disk are kept (their checksum is checked); the
        rest are fetched from the upstream, so an interrupted fill resumes.

        Args:
            z, y, x: half-open ranges; default the whole axis.
            channels: default all channels of the cache.
            progress: show a progress bar (only on a terminal).
        """
        from tqdm.auto import tqdm

        ranges, wanted = self.check_request((z, y, x), channels, f"cache {self.root}")
        jobs = [(c, k) for c in wanted for k in self.store.keys_in(*ranges)]

        def ensure(job: tuple[str, Key], wait: bool) -> Any:
            if self.store.status(*job) == "ok":
                return False
            self._memory.drop(job)
            done = fetch_once(self.store, *job, lambda: self._fetch(*job), wait)
            return done if done is BUSY else done[0]

        with tqdm(
            total=len(jobs), desc="fetch", unit="chunk", disable=None if progress else True
        ) as bar:
            fetched = sum(self._fetch_all(ensure, jobs, bar))
        return FillReport(fetched=fetched, present=len(jobs) - fetched)

    def scan(self, progress: bool = False) -> VerifyReport:
        """Check every chunk on disk, or stored once by the cache's record, against its
        checksum (reads all of them; :mod:`mtneuro.data.sources.cache_verify`)."""
        return scan_cache(self, progress)

    def repair(self, report: VerifyReport, progress: bool = False) -> int:
        """Fetch the bad chunks of ``report`` again and delete stray temporary files.

        A chunk found sound once its lock is held (another process repaired it) is kept, and
        a leftover lock file that someone holds now is kept too.

        Returns:
            Number of chunks fetched; which ones are left in ``report.refetched``.
        """
        from tqdm.auto import tqdm

        for path in report.temp_files:
            if is_lock_file(path):
                remove_lock_file(path)
            else:
                path.unlink(missing_ok=True)
        with tqdm(
            total=len(report.bad), desc="repair", unit="chunk", disable=None if progress else True
        ) as bar:
            for job in report.bad:
                self._memory.drop(job)
            done = self._fetch_all(
                lambda job, wait: fetch_once(self.store, *job, lambda: self._fetch(*job), wait),
                report.bad, bar)
        report.refetched = [job for job, d in zip(report.bad, done) if d[0]]
        return len(report.refetched)

