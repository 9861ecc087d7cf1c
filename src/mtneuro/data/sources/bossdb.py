"""The real MTNeuro volume on BossDB, read through the ``intern`` client.

Channels (resolution 0, voxel 1.17 um):

* ``image``: ``bossdb://prasad/prasad2020/image`` (uint8 X-ray intensities);
* ``roi_labels``: ``bossdb://prasad/prasad_analysis/roi_labels`` (uint64 on the
  server, small region ids, served here as uint8);
* ``pixel_labels``: ``bossdb://prasad/prasad_analysis/pixel_labels`` (likewise).

Data: Prasad et al., "A three-dimensional thalamocortical dataset for
characterizing brain heterogeneity", Sci. Data 2020 (CC-BY-4.0).

A large read is split into blocks aligned to ``block_shape`` (the default
matches the Boss storage cuboid, 16 x 512 x 512 in z, y, x) and fetched by a
bounded thread pool. Each block is retried with backoff on transient failures
(see :mod:`mtneuro.data.retry`); all blocks of one read share one deadline, and
the first block that fails for good cancels the rest, so a dead or wrong endpoint costs
bounded time and a bounded number of requests. A cache filling several chunks makes its
reads share one such budget too (:mod:`mtneuro.data.sources.fetch_budget`).
"""

from __future__ import annotations

import inspect
import itertools
import random
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from mtneuro.data.retry import RetryFailure, RetryPolicy, retry_call
from mtneuro.data.sources.base import CHANNELS, SOURCES, Range, VolumeSource
from mtneuro.data.sources.bossdb_errors import (
    OFFLINE_HINT,
    CorruptBodyError,
    classify_error,
    describe_error,
    resolve_token,
    token_hint,
)
from mtneuro.data.sources.fetch_budget import FetchBudget, FetchCancelled, current_budget
from mtneuro.data.sources.params import number_at_least, parse_shape
from mtneuro.errors import ConfigError, DataError, SourceUnavailableError
from mtneuro.extras import require

#: channel -> (collection, experiment, channel) on BossDB.
BOSSDB_CHANNELS: dict[str, tuple[str, str, str]] = {
    "image": ("prasad", "prasad2020", "image"),
    "roi_labels": ("prasad", "prasad_analysis", "roi_labels"),
    "pixel_labels": ("prasad", "prasad_analysis", "pixel_labels"),
}


def _checked(
    protocol: Any, channels: Any, workers: Any, block_shape: Any, timeout: Any,
    max_attempts: Any, max_retry_seconds: Any, backoff: Any,
) -> dict[str, Any]:
    """The constructor's settings checked (and made ints / floats / tuples), naming the key
    of the first bad one; no connection is made."""
    if protocol not in ("http", "https"):
        raise ConfigError(f"protocol: expected 'http' or 'https', got {protocol!r}")
    wanted = tuple(channels.split(",")) if isinstance(channels, str) else tuple(channels)
    for channel in wanted:
        if channel not in BOSSDB_CHANNELS:
            raise ConfigError(f"channels: unknown channel {channel!r}; valid: {', '.join(CHANNELS)}")
    return {
        "channels": wanted,
        "workers": int(number_at_least(workers, "workers", int, 1)),
        "block_shape": parse_shape(block_shape, "block_shape"),
        "timeout": number_at_least(timeout, "timeout", float, 1e-3),
        "max_attempts": int(number_at_least(max_attempts, "max_attempts", int, 1)),
        "max_retry_seconds": number_at_least(max_retry_seconds, "max_retry_seconds", float, 0.0),
        "backoff": number_at_least(backoff, "backoff", float, 0.0),
    }


def aligned_blocks(
    ranges: Sequence[Range], block_shape: Sequence[int]
) -> list[tuple[Range, Range, Range]]:
    """Split half-open ``(z, y, x)`` ranges at multiples of ``block_shape``."""
    per_axis = []
    for (lo, hi), step in zip(ranges, block_shape):
        cuts = [lo, *range((lo // step + 1) * step, hi, step), hi]
        per_axis.append(list(itertools.pairwise(cuts)))
    return list(itertools.product(*per_axis))  # type: ignore[arg-type]


@SOURCES.register("bossdb")
class BossDBSource(VolumeSource):
    """The MTNeuro X-ray volume and its annotations from a Boss server.

    Args:
        host: Boss API host, with ``:port`` if not the default.
        protocol: ``https`` or ``http``.
        token: API token; default ``$MTNEURO_BOSS_TOKEN`` or ``public`` (BossDB's
            anonymous read token). Not part of :meth:`params`, so never stored.
        workers: threads fetching blocks of one read in parallel.
        block_shape: ``(z, y, x)`` voxels per request.
        max_attempts: tries per block (1 = no retry).
        max_retry_seconds: wall-clock budget of one read, retries included.
        timeout: seconds to wait for a connection or for the next bytes of a response.
        backoff: first retry wait in seconds (doubles per retry, capped at 10 s).
        channels: channels to serve (metadata of each is read on construction).
        seed: seed of the retry jitter.

    Raises:
        SourceUnavailableError: the server's metadata could not be read.
    """

    name = "bossdb"
    #: params that change how data is fetched, not which data (a cache may differ in them).
    transport_params = (
        "workers",
        "block_shape",
        "max_attempts",
        "max_retry_seconds",
        "timeout",
        "backoff",
        "seed",
    )
    #: params that say where the data is served, not which data: a cache filled from one
    #: address is refilled from another (with a warning); the channels' URIs, the volume's
    #: shape and the server's data types say which data, and must match.
    location_params = ("host", "protocol")

    def __init__(
        self,
        host: str = "api.bossdb.io",
        protocol: str = "https",
        token: str | None = None,
        workers: int = 4,
        block_shape: Sequence[int] | str = (16, 512, 512),
        max_attempts: int = 6,
        max_retry_seconds: float = 120.0,
        timeout: float = 30.0,
        backoff: float = 0.5,
        channels: Iterable[str] | str = CHANNELS,
        seed: int | None = None,
    ) -> None:
        checked = _checked(protocol=protocol, channels=channels, workers=workers,
                           block_shape=block_shape, timeout=timeout, max_attempts=max_attempts,
                           max_retry_seconds=max_retry_seconds, backoff=backoff)
        wanted = checked["channels"]
        self.host = str(host)
        self.protocol = protocol
        self.token, self.token_origin = resolve_token(token)
        self.workers, self.block_shape = checked["workers"], checked["block_shape"]
        self.timeout = checked["timeout"]
        self.policy = RetryPolicy(max_attempts=checked["max_attempts"],
                                  max_seconds=checked["max_retry_seconds"],
                                  base_delay=checked["backoff"])
        self.seed = seed
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._local = threading.local()
        self._said_retrying = False
        self._resources: dict[str, Any] = {}
        origin, shape = self._read_metadata(wanted)
        self.origin = origin
        super().__init__(shape, wanted)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
        wanted = inspect.signature(_checked).parameters
        _checked(**{key: params.get(key, defaults[key]) for key in wanted})

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}"

    def params(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "protocol": self.protocol,
            "workers": self.workers,
            "block_shape": list(self.block_shape),
            "max_attempts": self.policy.max_attempts,
            "max_retry_seconds": self.policy.max_seconds,
            "timeout": self.timeout,
            "backoff": self.policy.base_delay,
            "channels": list(self.channels),
            "seed": self.seed,
        }

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["uris"] = {c: "bossdb://" + "/".join(BOSSDB_CHANNELS[c]) for c in self.channels}
        info["datatypes"] = {c: str(self._resources[c].datatype) for c in self.channels}
        return info

    def __getstate__(self) -> dict[str, Any]:
        # Sessions and locks do not cross process boundaries (DataLoader workers, spawn).
        state = self.__dict__.copy()
        for key in ("_local", "_rng_lock"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._rng_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------
    def _remote(self) -> Any:
        """One ``BossRemote`` per thread: requests sessions are not thread-safe."""
        remote = getattr(self._local, "remote", None)
        if remote is None:
            BossRemote = require("intern.remote.boss", "bossdb").BossRemote

            remote = BossRemote({"protocol": self.protocol, "host": self.host, "token": self.token})
            for service in (remote.project_service, remote.volume_service):
                # intern sends without a timeout by default, so a stalled server would hang forever.
                service.session_send_opts = {**service.session_send_opts, "timeout": self.timeout}
            self._local.remote = remote
        return remote

    def _retry(
        self,
        fn: Callable[[], Any],
        what: str,
        deadline: float | None = None,
        budget: FetchBudget | None = None,
    ) -> Any:
        """``fn()`` retried; with a ``budget``, cancelled by it and telling it of trouble.
        Metadata reads (no budget) take only their hint from the job they serve (a cache
        names the address it was filled from)."""
        job = budget or current_budget()
        hint = job.hint if job is not None and job.hint else OFFLINE_HINT

        def on_retry(attempt: int, error: BaseException, wait: float) -> None:
            if budget is not None:
                budget.trouble()
            self._say_retrying(what, error)

        with self._rng_lock:
            rng = random.Random(self._rng.random())
        try:
            return retry_call(
                fn,
                policy=self.policy,
                classify=classify_error,
                deadline=deadline,
                cancel=None if budget is None else budget.cancel,
                rng=rng,
                on_retry=on_retry,
            )
        except RetryFailure as failure:
            reason = describe_error(failure.last_error)
            if failure.permanent:
                raise SourceUnavailableError(
                    f"bossdb at {self.url}: {what} failed with {reason} (permanent, not retried); "
                    f"{token_hint(failure.last_error, self.token_origin)}{hint}"
                ) from None
            if failure.cancelled and failure.last_error is None:
                raise FetchCancelled(f"bossdb at {self.url}: {what} cancelled: another "
                                     "request of the same read failed") from None
            raise SourceUnavailableError(
                f"bossdb at {self.url} unreachable: {what} failed {failure.attempts} time(s) in "
                f"{failure.elapsed:.1f}s (last: {reason}); {hint}"
            ) from None

    def _say_retrying(self, what: str, error: BaseException) -> None:
        """Warn at the first retry of this source: a slow or silent server otherwise looks
        like a hung command for up to ``max_retry_seconds``."""
        with self._rng_lock:
            if self._said_retrying:
                return
            self._said_retrying = True
        warnings.warn(
            f"bossdb at {self.url}: {what} failed ({describe_error(error)}); retrying, up to "
            f"{self.policy.max_attempts} tries per request and {self.policy.max_seconds:g} s "
            f"of retrying for the whole read before giving up", stacklevel=2)

    def _call(self, method: str, *args: Any) -> Any:
        """``BossRemote.<method>(*args)`` on this thread's remote."""
        return getattr(self._remote(), method)(*args)

    def _read_metadata(
        self, channels: tuple[str, ...]
    ) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """Channel datatypes and the extent ``(Z, Y, X)`` of their coordinate frames."""
        frames: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {}
        experiments: dict[tuple[str, str], Any] = {}
        extents = []
        for channel in channels:
            coll, exp, chan = BOSSDB_CHANNELS[channel]
            path = f"{coll}/{exp}/{chan}"
            self._resources[channel] = self._retry(
                partial(self._call, "get_channel", chan, coll, exp), f"reading channel {path}"
            )
            if (coll, exp) not in experiments:
                experiments[(coll, exp)] = self._retry(
                    partial(self._call, "get_experiment", coll, exp),
                    f"reading experiment {coll}/{exp}",
                )
            name = experiments[(coll, exp)].coord_frame
            if name not in frames:
                frame = self._retry(
                    partial(self._call, "get_coordinate_frame", name),
                    f"reading coordinate frame {name}",
                )
                start = (int(frame.z_start), int(frame.y_start), int(frame.x_start))
                stop = (int(frame.z_stop), int(frame.y_stop), int(frame.x_stop))
                frames[name] = (start, stop)
            extents.append(frames[name])
        starts = {start for start, _ in extents}
        if len(starts) != 1:
            raise DataError(
                f"bossdb channels {', '.join(channels)} have different frame origins "
                f"{sorted(starts)}"
            )
        origin = starts.pop()
        shape = tuple(min(stop[a] for _, stop in extents) - origin[a] for a in range(3))
        return origin, shape  # type: ignore[return-value]

    # -- reading --------------------------------------------------------------------
    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        out = np.empty(tuple(hi - lo for lo, hi in (z, y, x)), dtype=np.uint8)
        blocks = aligned_blocks((z, y, x), self.block_shape)
        # Shared with the other chunks of a cache's fill or read, else this read's own.
        budget = current_budget() or FetchBudget()
        budget.check()
        deadline = budget.deadline(self.policy.max_seconds)
        errors: list[BaseException] = []
        done: list[bool] = []

        def fetch_into(block: tuple[Range, Range, Range]) -> None:
            if budget.cancel.is_set():
                return  # another block or chunk failed: do not send more requests
            try:
                data = self._fetch_block(channel, block, deadline, budget)
            except BaseException as exc:  # noqa: BLE001 - re-raised below in the caller's thread
                errors.append(exc)
                budget.fail(exc)  # kept only if first: not a cancellation's consequence
                return
            budget.answered()
            out[tuple(slice(lo - o, hi - o) for (lo, hi), (o, _) in zip(block, (z, y, x)))] = data
            done.append(True)

        if len(blocks) == 1:
            fetch_into(blocks[0])
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(blocks))) as pool:
                list(pool.map(fetch_into, blocks))
        if len(done) < len(blocks):  # never return a block of which a part was not read
            if budget.failure is not None and any(e is budget.failure for e in errors):
                raise budget.failure
            raise FetchCancelled(f"bossdb at {self.url}: {channel} read cancelled")
        return out

    def _fetch_block(
        self,
        channel: str,
        block: tuple[Range, Range, Range],
        deadline: float,
        budget: FetchBudget,
    ) -> np.ndarray:
        (z0, z1), (y0, y1), (x0, x1) = block
        oz, oy, ox = self.origin
        shape = (z1 - z0, y1 - y0, x1 - x0)
        resource = self._resources[channel]

        def request() -> np.ndarray:
            try:
                data = self._remote().get_cutout(
                    resource,
                    0,
                    [x0 + ox, x1 + ox],
                    [y0 + oy, y1 + oy],
                    [z0 + oz, z1 + oz],
                    parallel=False,
                )
            except ValueError as exc:  # intern could not reshape / decode what arrived
                raise CorruptBodyError(str(exc)) from exc
            except Exception as exc:
                if type(exc).__module__.startswith("blosc"):
                    raise CorruptBodyError(f"blosc: {exc}") from exc
                raise
            if data.shape != shape:
                raise CorruptBodyError(f"got a block of shape {data.shape}, expected {shape}")
            return data

        what = f"{channel} cutout z {z0}:{z1} y {y0}:{y1} x {x0}:{x1}"
        return _to_uint8(self._retry(request, what, deadline, budget), channel, what)


def _to_uint8(data: np.ndarray, channel: str, what: str) -> np.ndarray:
    """Annotation channels are uint64 on the server but hold ids < 256."""
    if data.dtype == np.uint8:
        return data
    if data.size and int(data.max()) > 255:
        raise DataError(f"bossdb {what}: {channel} holds id {int(data.max())}, expected ids 0..255")
    return data.astype(np.uint8)
