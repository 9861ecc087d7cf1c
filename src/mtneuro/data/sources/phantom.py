"""``phantom``: a synthetic X-ray-like volume, deterministic from a seed, needing no data.

The embedded default source. Same extent as the real MTNeuro volume
(``prasad/prasad2020``: 720 x 1420 x 5805 voxels in z, y, x at 1.17 um, as
stated in the nerdslab/xray-thc README), with

* ``roi_labels``: the real region layout (traced from the published annotation
  of slice 309, drifting slightly with depth; :mod:`phantom_layout`), so the
  four published boxes lie in their regions;
* ``pixel_labels``: cell bodies, vessels and myelinated fibre bundles in the
  BossDB convention, with per-region amounts and sizes calibrated on the real
  annotations (:mod:`phantom_params`);
* ``image``: gray levels calibrated on the real slice z = 309.

Any block can be read on its own: it equals the same voxels of any larger read.

>>> from mtneuro.data.sources import open_source
>>> src = open_source("phantom", seed=0)
>>> src.read_channel("roi_labels", (300, 301), (1000, 1001), (4700, 4701)).item()
1
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from mtneuro.data.sources.base import SOURCES, VolumeSource
from mtneuro.data.sources.phantom_layout import LAYOUT_SHAPE, VOLUME_DEPTH, roi_block
from mtneuro.data.sources.phantom_render import PhantomRenderer
from mtneuro.errors import ConfigError

#: Bump when the rendering changes, so caches filled from an older phantom are not mixed in.
PHANTOM_VERSION = 1
PHANTOM_SHAPE = (VOLUME_DEPTH, *LAYOUT_SHAPE)

Range = tuple[int, int]


def _checked_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, str)):
        raise ConfigError(f"phantom seed: expected a non-negative integer, got {seed!r}")
    try:
        value = int(seed)
    except ValueError:
        raise ConfigError(f"phantom seed: expected a non-negative integer, got {seed!r}") from None
    if value < 0 or value >= 2**31:
        raise ConfigError(f"phantom seed: expected an integer in [0, 2**31), got {seed!r}")
    return value


@functools.cache
def _blas_libraries() -> ThreadpoolController:
    """The loaded thread pools, listed once: ``threadpool_limits`` lists them on every call
    (1-4 ms with torch loaded, per tile); numpy's BLAS, which rendering uses, is among them."""
    return ThreadpoolController()


@SOURCES.register("phantom")
class PhantomSource(VolumeSource):
    """Synthetic volume of shape (720, 1420, 5805), uint8 channels ``image``,
    ``roi_labels`` and ``pixel_labels``.

    Args:
        seed: non-negative integer; the same seed gives the same bytes.
    """

    name = "phantom"
    cheap_requests = True  # rendering costs per slice: skipped slices are not rendered

    def __init__(self, seed: int = 0) -> None:
        super().__init__(PHANTOM_SHAPE)
        self.seed = _checked_seed(seed)
        self._renderer: PhantomRenderer | None = None
        self._lock = threading.Lock()
        self._last: tuple[tuple[Range, Range, Range], dict[str, np.ndarray]] | None = None

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        _checked_seed(params.get("seed", 0))

    def params(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def content_key(self) -> Hashable:
        # the renderer's bytes are a function of its version, seed and shape alone
        return (type(self), PHANTOM_VERSION, self.seed, self.shape, self.channels)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            {
                "version": PHANTOM_VERSION,
                "voxel_size_um": self.voxel_size_um,
                "what": "synthetic X-ray-like volume calibrated on the real MTNeuro masks "
                "and slice z=309",
            }
        )
        return info

    @property
    def renderer(self) -> PhantomRenderer:
        if self._renderer is None:
            self._renderer = PhantomRenderer(self.seed, self.shape)
        return self._renderer

    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        if channel == "roi_labels":
            return roi_block(z, y, x)  # the layout alone: fast enough for whole slices
        key = (z, y, x)
        with self._lock:
            # read() asks for each channel of the same block in turn: render once
            if self._last is not None and self._last[0] == key and channel in self._last[1]:
                return self._last[1][channel].copy()
            # small matrix products (hundreds of rows): BLAS threads only wait on each other,
            # and on a busy machine a second thread tripled a tile's time
            with _blas_libraries().limit(limits=1, user_api="blas"):
                block = self.renderer.render(z, y, x, image=channel == "image")
            self._last = (key, block)
            return block[channel].copy()  # callers may write into what they get

    def __getstate__(self) -> dict[str, Any]:
        # workers rebuild the renderer and lock; the block cache is not shipped
        state = self.__dict__.copy()
        state.update(_renderer=None, _lock=None, _last=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
