"""A volume source over in-memory numpy arrays (tests and benchmarks).

Not registered in :data:`~mtneuro.data.sources.base.SOURCES`: its data cannot
be recreated from parameters, so it cannot stand behind a cache that must be
repaired later from its recorded description.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from mtneuro.data.sources.base import CHANNEL_DTYPES, Range, VolumeSource
from mtneuro.errors import ConfigError


class ArraySource(VolumeSource):
    """Serves ``arrays[channel]``, each of the same ``(Z, Y, X)`` shape.

    Counts the reads it serves per channel in :attr:`reads` so tests can check
    what a cache asked for.
    """

    name = "array"

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise ConfigError(
                f"arrays: expected 3D arrays of one shape, got shapes {sorted(shapes)}"
            )
        self.arrays = {
            c: np.ascontiguousarray(a, dtype=CHANNEL_DTYPES[c]) for c, a in arrays.items()
        }
        self.reads = {c: 0 for c in arrays}
        self._lock = threading.Lock()  # caches fetch from several threads
        super().__init__(shapes.pop(), tuple(arrays))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        with self._lock:
            self.reads[channel] += 1
        return self.arrays[channel][z[0] : z[1], y[0] : y[1], x[0] : x[1]]


def random_volume(shape: tuple[int, int, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Image noise plus label channels with a few ids, deterministic from ``seed``.

    Returns:
        ``{"image", "roi_labels", "pixel_labels"}`` uint8 arrays of ``shape`` (Z, Y, X).
    """
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, shape, dtype=np.uint8),
        "roi_labels": rng.integers(0, 9, shape, dtype=np.uint8),
        "pixel_labels": rng.integers(0, 4, shape, dtype=np.uint8),
    }
