"""A volume's values as 8 bits (``--source volume``'s ``window``), a slab of slices at a time.

8-bit volumes are read as they are and bool ones (masks) as 0 / 255; any other type needs the
intensity ``window`` ``LOW:HIGH`` mapped to 0-255. The mapping runs over slabs of a few MiB
into one uint8 output, so a 16-bit or float volume never exists as float64 in full (a
256 MiB uint16 stack once took ~4 GB). It stays in float64 per slab: float32 rounds some
values at the .5 boundaries the other way (``np.rint``), which would change the tiles.

>>> import numpy as np
>>> to_eight_bit(np.array([[[0, 2000, 4000, 5000]]], np.uint16), (0, 4000), "v.npy").tolist()
[[[0, 128, 255, 255]]]
>>> range_window(np.float32(-220.50887), np.float32(216.1922))   # a thousandth of the span
'-220.6:216.2'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.errors import ConfigError, DataError

#: Voxels mapped at once: their float64 temporaries take 8 bytes each (8 MiB).
SLAB_VOXELS = 2**20
#: Fewer grey levels than this from a window warns (the values' range would give more).
FEW_LEVELS = 32


def source_param(key: str, value: Any) -> str:
    """How a refusal tells the command line's user to give a volume parameter; a caller
    that takes them otherwise (``mtneuro.pretrain``'s ``source_params``) passes its own."""
    return f"--source-param {key}={value}"


def parse_window(window: str | None) -> tuple[float, float] | None:
    """``"LOW:HIGH"`` as two floats, LOW < HIGH (None: none given).

    Raises:
        ConfigError: another form, naming the key and the value.
    """
    if window is None:
        return None
    try:
        low, high = (float(part) for part in str(window).split(":"))
    except ValueError:
        raise ConfigError(f"window: expected LOW:HIGH (e.g. 0:4095), got {window!r}") from None
    # an infinite end makes the scale 255 / inf = 0: every tile black, and training goes on
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ConfigError(f"window: expected finite LOW:HIGH (e.g. 0:4095), got {window!r}")
    if not low < high:
        raise ConfigError(f"window: expected LOW < HIGH, got {window!r}")
    return low, high


def range_window(lowest: Any, highest: Any) -> str:
    """The window ``LOW:HIGH`` spanning the values read, as the refusals suggest it: the one
    place its form is written, so a preview names the very window an error would. Integers
    as they are; floats rounded outward to a thousandth of their span (4 significant digits
    of it), so the window still holds every value and maps them to within a grey level."""
    if np.asarray(lowest).dtype.kind != "f":
        return f"{lowest}:{highest}"
    low, high = Decimal(float(lowest)), Decimal(float(highest))  # exact: no float rounding
    if not high > low:
        return f"{lowest}:{highest}"
    step = Decimal(1).scaleb((high - low).adjusted() - 3)
    ends = [float(low.quantize(step, ROUND_FLOOR)), float(high.quantize(step, ROUND_CEILING))]
    # rounding out past the largest float would give inf, which no window takes
    ends = [end if math.isfinite(end) else float(value) for end, value in zip(ends, (low, high))]
    return ":".join(repr(end).removesuffix(".0") for end in ends)


def to_eight_bit(slices: Any, window: tuple[float, float] | None, path: str | Path, *,
                 z_step: int = 1) -> np.ndarray:
    """``slices`` ``(n, y, x)`` as uint8: as they are if 8-bit, bool as 0 / 255, else
    ``window`` mapped to 0-255 (clipped). ``z_step``: slice ``i`` of ``slices`` is slice
    ``i * z_step`` of the volume (for the index a refusal names). See :func:`map_eight_bit`.
    """
    out = np.empty(tuple(slices.shape), dtype=np.uint8)

    def store(which: slice, slab: np.ndarray) -> None:
        out[which] = slab

    map_eight_bit(slices, window, path, store, z_step=z_step)
    return out


def map_eight_bit(slices: Any, window: tuple[float, float] | None, path: str | Path,
                  store: Callable[[slice, np.ndarray], None], *, z_step: int = 1,
                  name: str | None = None,
                  param: Callable[[str, Any], str] = source_param) -> None:
    """Map ``slices`` (an array, or anything whose ``slices[a:b]`` reads slices ``a:b``) to
    uint8 a slab of whole slices at a time, handing ``store(which, slab)`` each one. A window
    that leaves the values fewer than :data:`FEW_LEVELS` grey levels, where their range would
    give more, warns (``UserWarning``) with the window that would.

    Refusals and warnings start with ``name`` (default ``volume PATH``) and say how to give
    a window with ``param`` (default :func:`source_param`): arrays in memory have no path.

    Raises:
        DataError: NaN or infinite voxels, one value in every voxel (before or after the
            window), or a type other than uint8 / bool without a window (the message gives
            the values' range as a window to start from).
    """
    name = name or f"volume {Path(str(path))}"
    dtype = np.dtype(slices.dtype)
    as_is = window is None and dtype in (np.uint8, np.bool_)
    lows, highs, out_lows, out_highs = [], [], [], []
    for which in _slabs(tuple(slices.shape)):
        raw = np.asarray(slices[which])
        if dtype.kind == "f" and not np.isfinite(raw).all():
            _refuse_non_finite(slices, name, z_step)
        if raw.size == 0:
            continue
        # scalars of the volume's type, printed (!s) in its precision: float32 -220.50887, not
    # the float64 digits a format would give, -220.5088653564453
        lows.append(dtype.type(raw.min()))
        highs.append(dtype.type(raw.max()))
        if window is not None:
            slab = _windowed(raw, window)
            out_lows.append(slab.min())
            out_highs.append(slab.max())
        elif as_is:  # a mask: one scaling fits every one
            slab = raw.astype(np.uint8) * np.uint8(255) if dtype == np.bool_ else raw
        else:  # refused below, once the values' range is known
            continue
        store(which, slab)
    lowest, highest = min(lows), max(highs)
    if lowest == highest:
        raise DataError(f"{name} holds one value ({lowest!s}) in every voxel read: "
                        "nothing to train on")
    if window is None:
        if as_is:
            return
        raise DataError(f"{name} holds {dtype} values ({lowest!s} to {highest!s}); "
                        "give the intensity window mapped to 0-255, e.g. "
                        f"{param('window', range_window(lowest, highest))}, or a narrower one "
                        "around the tissue's range")
    low, high = window
    if min(out_lows) == max(out_highs):  # a window beside the values: all black or white
        raise DataError(f"{name}: window {low:g}:{high:g} maps every voxel read to "
                        f"{min(out_lows)} (the values run {lowest!s} to {highest!s}); give a "
                        "window that overlaps them, e.g. "
                        f"{param('window', range_window(lowest, highest))}")
    _warn_of_few_levels(name, param, window, (lowest, highest), int(max(out_highs)) -
                        int(min(out_lows)) + 1, dtype)


def _slabs(shape: tuple[int, ...]) -> Iterator[slice]:
    """Runs of whole slices of about :data:`SLAB_VOXELS` voxels (one slice at least)."""
    per_slice = max(1, math.prod(shape[1:]))
    step = max(1, SLAB_VOXELS // per_slice)
    for start in range(0, shape[0], step):
        yield slice(start, min(start + step, shape[0]))


def _windowed(raw: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """``raw`` ``(n, y, x)`` mapped by ``window`` to uint8, in runs of rows of about
    :data:`SLAB_VOXELS` voxels (all of it, unless one slice is larger)."""
    low, high = window
    scale = 255.0 / (high - low)
    out = np.empty(raw.shape, dtype=np.uint8)
    rows = max(1, SLAB_VOXELS // max(1, raw.shape[0] * raw.shape[2]))
    for start in range(0, raw.shape[1], rows):
        part = raw[:, start:start + rows].astype(np.float64)
        part -= low
        part *= scale
        np.clip(part, 0, 255, out=part)
        out[:, start:start + rows] = np.rint(part, out=part)
    return out


def _warn_of_few_levels(name: str, param: Callable[[str, Any], str],
                        window: tuple[float, float], values: tuple[Any, Any],
                        levels: int, dtype: np.dtype) -> None:
    """Warn when ``window`` leaves the values ``levels`` grey levels, fewer than
    :data:`FEW_LEVELS`, and the window of their range would give more: e.g. the 12-bit
    window 0:4095 on an 8-bit volume leaves 17 of its 256."""
    lowest, highest = values
    possible = 256 if dtype.kind == "f" else min(256, int(highest) - int(lowest) + 1)
    if levels >= FEW_LEVELS or levels >= possible:
        return
    low, high = window
    warnings.warn(f"{name}: window {low:g}:{high:g} maps the values read ({lowest!s} to "
                  f"{highest!s}) to {levels} grey levels of 256; "
                  f"{param('window', range_window(lowest, highest))} (their range) would give "
                  f"{possible}", UserWarning, stacklevel=3)


def _refuse_non_finite(slices: Any, name: str, z_step: int) -> None:
    """Raise the refusal of ``slices``' NaN, else infinite, voxels: how many, and the first."""
    for what, is_bad in (("NaN", np.isnan), ("infinite", np.isinf)):
        count, first = 0, None
        for which in _slabs(tuple(slices.shape)):
            bad = is_bad(np.asarray(slices[which]))
            if first is None and bad.any():
                z, y, x = np.unravel_index(int(np.argmax(bad)), bad.shape)
                first = (int(z) + which.start, int(y), int(x))
            count += int(bad.sum())
        if first is not None:
            z, y, x = first
            # a stack of images (mtneuro.pretrain(images=...)) is counted in images, not z
            unit, at = (("pixels", f"image {z}") if name == "images" else
                        ("voxels", f"z={z * z_step}"))
            raise DataError(f"{name}: {count} {what} {unit} (first at {at}, y={y}, x={x}); "
                            "replace them (e.g. by the background value) before pre-training")
