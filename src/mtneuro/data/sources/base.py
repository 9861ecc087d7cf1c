"""The one small interface every volume source implements.

A source serves three channels of one 3D volume at resolution 0, indexed
``(z, y, x)`` with half-open ranges:

* ``image``: uint8 X-ray intensities;
* ``roi_labels``: uint8 region ids (see :data:`mtneuro.data.spec.ROI_NAMES`);
* ``pixel_labels``: uint8 microstructure labels in the BossDB convention
  (0 background, 1 vessel, 2 cell body, 3 myelinated axon).

Subclasses implement :meth:`VolumeSource._read` only; range checking, channel
validation and dtype normalisation live here so every source fails the same way.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtneuro.errors import ConfigError
from mtneuro.registry import Registry, check_choice

CHANNELS: tuple[str, ...] = ("image", "roi_labels", "pixel_labels")
CHANNEL_DTYPES = {"image": np.uint8, "roi_labels": np.uint8, "pixel_labels": np.uint8}

Range = tuple[int, int]


@dataclass
class Block:
    """Arrays of one (z, y, x) block; a channel not asked for is ``None``."""

    image: np.ndarray | None = None
    roi_labels: np.ndarray | None = None
    pixel_labels: np.ndarray | None = None

    def __getitem__(self, channel: str) -> np.ndarray:
        value = getattr(self, check_choice("channel", channel, CHANNELS))
        if value is None:
            raise KeyError(f"channel {channel!r} was not read")
        return value


class VolumeSource(ABC):
    """A 3D volume with image, region and microstructure channels.

    Attributes:
        name: registry name of the source kind (``phantom``, ``bossdb``, ...).
        shape: full extent ``(Z, Y, X)`` in voxels at resolution 0.
        channels: channels this source can serve.
        cheap_requests: a request costs about what its voxels cost (the phantom renders
            each slice asked for), so readers ask only for the slices they keep; otherwise
            (HTTP, chunk files) they ask once for a whole span, skipped slices included.
    """

    name: str = "source"
    voxel_size_um: float = 1.17
    cheap_requests: bool = False

    def __init__(self, shape: tuple[int, int, int], channels: Iterable[str] = CHANNELS) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.channels = tuple(channels)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Fail as the constructor would on a parameter value out of range, opening nothing
        (no file read, no connection), so ``bench --dry-run`` names it. Checks nothing here.

        Raises:
            ConfigError: a value the constructor would refuse.
            DataError: a folder or file the constructor would not find (a look-up, no read).
        """

    # -- to implement -------------------------------------------------------------
    @abstractmethod
    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        """Return the ``(z, y, x)`` block of ``channel``; ranges are already checked."""

    def outside_note(self, axis: str) -> str:
        """Words added to an out-of-range error on ``axis`` (``"z"``, ``"y"``, ``"x"``) where
        this source's indices are not the volume's (the one-slice source); none here."""
        return ""

    def outside_message(self, axis: str, index: str, size: int) -> str:
        """The error for ``index`` (a number or ``lo:hi``) outside ``axis`` of ``size``."""
        note = self.outside_note(axis)
        return (f"{axis} {index} is outside the {self.name} volume (valid {axis}: 0:{size})"
                + (f"; {note}" if note else ""))

    def params(self) -> dict[str, Any]:
        """Keyword arguments that recreate this source: ``open_source(name, **params())``."""
        return {}

    def content_key(self) -> Hashable | None:
        """What decides every byte this source serves, where that is known; ``None`` if not.

        Two sources with equal keys give equal arrays for equal requests, in any process and
        at any time, so a reader may reuse what it read from one for the other
        (:mod:`mtneuro.data.tile_cache`). ``None`` here: a file, server or in-memory array
        may hold other bytes under the same parameters. A subclass that overrides this
        should put ``type(self)`` in its key, so a subclass of it serving other bytes does
        not share the entries.
        """
        return None

    def describe(self) -> dict[str, Any]:
        """Provenance: what this source is, enough to recreate and verify it.

        ``open_source(d["source"], **d["params"])`` rebuilds an equivalent source;
        subclasses may add keys (e.g. a checksum of the file they read).
        """
        return {
            "source": self.name,
            "params": self.params(),
            "shape": list(self.shape),
            "channels": list(self.channels),
        }

    # -- public -------------------------------------------------------------------
    def read_channel(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        """Read one channel of a block as a C-contiguous uint8 array of shape (Z, Y, X)."""
        check_choice("channel", channel, list(self.channels))
        ranges = self.check_ranges(z, y, x)
        out = self._read(channel, *ranges)
        expected = tuple(hi - lo for lo, hi in ranges)
        if out.shape != expected:
            raise RuntimeError(
                f"{self.name} returned {channel} of shape {out.shape}, expected {expected}"
            )
        return np.ascontiguousarray(out, dtype=CHANNEL_DTYPES[channel])

    def read(
        self, z: Range, y: Range, x: Range, channels: Iterable[str] | str | None = None
    ) -> Block:
        """Read several channels of the same block (``channels``: names, or one name)."""
        return Block(**{c: self.read_channel(c, z, y, x) for c in self._named(channels)})

    def _named(self, channels: Iterable[str] | str | None) -> tuple[str, ...]:
        """The channels asked for: all of them (``None``), one name (not its letters), or
        the names given."""
        if channels is None:
            return self.channels
        return (channels,) if isinstance(channels, str) else tuple(channels)

    def check_ranges(self, z: Range, y: Range, x: Range) -> tuple[Range, Range, Range]:
        """Validate half-open ranges against :attr:`shape`; fail naming the axis."""
        checked = []
        for axis, rng, size in zip("zyx", (z, y, x), self.shape):
            try:
                lo, hi = rng
            except (TypeError, ValueError):
                raise ConfigError(f"{axis}: expected a (start, stop) pair, got {rng!r}") from None
            lo, hi = _voxel_index(axis, lo), _voxel_index(axis, hi)
            if lo >= hi:
                raise ConfigError(f"{axis} range {lo}:{hi} is empty (start must be below stop)")
            if not (0 <= lo < hi <= size):
                raise ConfigError(self.outside_message(axis, f"range {lo}:{hi}", size))
            checked.append((lo, hi))
        return tuple(checked)  # type: ignore[return-value]

    def check_request(
        self, ranges: Sequence[Range | None], channels: Iterable[str] | str | None, where: str
    ) -> tuple[tuple[Range, Range, Range], list[str]]:
        """Ranges (None = whole axis) and channels checked against this volume; ``where``
        names the volume in the error (e.g. ``"cache DIR"``)."""
        checked = self.check_ranges(
            *((r if r is not None else (0, s)) for r, s in zip(ranges, self.shape))
        )
        wanted = list(self._named(channels))
        for channel in wanted:
            if channel not in self.channels:
                raise ConfigError(
                    f"channels: {channel!r} is not in {where} ({', '.join(self.channels)})"
                )
        return checked, wanted

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape})"


def _voxel_index(axis: str, value: Any) -> int:
    """``value`` as a voxel index: ints and NumPy integers only. ``int()`` would truncate a
    float (0.5 read from 0, 2.9 up to 2) and serve other voxels than asked for, silently."""
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{axis}: expected integer voxel indices, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ConfigError(f"{axis}: expected integer voxel indices, got {value!r} "
                          f"({type(value).__name__}); pass ints, e.g. int(v) where whole"
                          ) from None


SOURCES: Registry[VolumeSource] = Registry("source")
