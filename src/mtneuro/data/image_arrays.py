"""Images and volumes given in memory (NumPy arrays, torch tensors) as the uint8 training
images pre-training takes (``mtneuro.pretrain``'s ``images=`` and ``volume=``).

The values are mapped to 8 bits by the rules of a volume file (``--source volume``,
:func:`~mtneuro.data.volume_window.map_eight_bit`): uint8 as it is, bool as 0 / 255, any
other type through an intensity ``window`` ``"LOW:HIGH"`` mapped to 0-255, which a uint16
or int16 array needs (no one scaling fits every 16-bit image: a dtype range or the data's
maximum would train silently on dark or clipped images). Floats in [0, 1], the package's
image convention (what ``mtneuro.evaluate`` feeds), take the window ``0:1`` unless another
is given: ``rint(x * 255)``, so ``images / 255`` trains as the uint8 ``images`` do. NaN or
infinite values, an empty array, one value everywhere, or a shape of the wrong rank are
refused in one line naming the argument (``images`` or ``volume``).

>>> import numpy as np
>>> ramps = np.tile(np.linspace(0, 1, 8), (2, 8, 1))     # two 8 x 8 images, values 0 to 1
>>> stack = image_stack(ramps)
>>> stack.shape, stack.dtype                             # (N, H, W) -> (N, 1, H, W)
(torch.Size([2, 1, 8, 8]), torch.uint8)
>>> stack[0, 0, 0].tolist()                              # rint(x * 255)
[0, 36, 73, 109, 146, 182, 219, 255]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.data.volume_file import MIN_TILE, array_tiles, check_tiling
from mtneuro.data.volume_window import map_eight_bit, parse_window, range_window
from mtneuro.errors import ConfigError, DataError


def source_params_param(key: str, value: Any) -> str:
    """How a refusal tells a Python caller to give a parameter: ``source_params=``."""
    return f"source_params={{{key!r}: {value!r}}}"


def as_array(value: Any, name: str) -> np.ndarray:
    """``value`` (a NumPy array or torch tensor, on any device) as a NumPy array.

    Raises:
        ConfigError: anything else, or values other than real numbers (named ``name``).
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):  # NumPy has no bfloat16
            value = value.float()
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise ConfigError(f"{name}: expected a NumPy array or a torch tensor, got "
                          f"{type(value).__name__}")
    if value.dtype.kind not in "biuf":  # complex, strings, objects have no intensity
        raise ConfigError(f"{name}: holds {value.dtype} values; expected real numbers "
                          "(uint8, uint16, bool, float in [0, 1], ...)")
    return value


def default_window(array: np.ndarray, window: str | None, name: str) -> tuple[float, float] | None:
    """The window ``array`` is mapped with: the one given, else ``0:1`` for floats in
    [0, 1] (``None`` for other types: uint8 and bool need none, others are refused by
    :func:`~mtneuro.data.volume_window.map_eight_bit`, which also names NaN voxels).

    Raises:
        ConfigError: a bad ``window``, or floats outside [0, 1] without one.
    """
    bounds = parse_window(window)
    if bounds is not None or array.dtype.kind != "f" or not np.isfinite(array).all():
        return bounds
    lowest, highest = array.min(), array.max()
    if lowest < 0 or highest > 1:
        suggested = source_params_param("window", range_window(lowest, highest))
        raise ConfigError(f"{name}: float values run {lowest!s} to {highest!s}; expected "
                          "[0, 1] (mapped to 0-255), or give the intensity window mapped to "
                          f"0-255, e.g. {suggested}")
    return 0.0, 1.0


def _eight_bit(array: np.ndarray, window: str | None, name: str) -> np.ndarray:
    """``array`` ``(n, y, x)`` as uint8 by the volume file's rules (see the module)."""
    bounds = default_window(array, window, name)
    out = np.empty(array.shape, dtype=np.uint8)

    def store(which: slice, slab: np.ndarray) -> None:
        out[which] = slab

    _mapped(lambda: map_eight_bit(array, bounds, name, store, name=name,
                                  param=source_params_param))
    return out


def _mapped(run: Callable[[], Any]) -> Any:
    # the mapping's refusals (NaN, one value, a window beside the values, slices smaller than
    # a tile) are a file's DataErrors; here they refuse the caller's argument, a ConfigError
    # (a ValueError) as every other refusal of it
    try:
        return run()
    except DataError as err:
        raise ConfigError(str(err)) from None


def image_stack(images: Any, *, window: str | None = None, name: str = "images") -> torch.Tensor:
    """``images`` ``(N, H, W)`` or ``(N, 1, H, W)`` as uint8 ``(N, 1, H, W)``.

    Raises:
        ConfigError: not an array or tensor of real numbers, another shape (one image, a
            channel axis of more than one channel), no images, images smaller than
            :data:`~mtneuro.data.volume_file.MIN_TILE` px, or values refused by the window
            rules (see the module).
    """
    array = as_array(images, name)
    shape = tuple(array.shape)
    if array.ndim == 4 and shape[1] == 1:
        array = array[:, 0]
    elif array.ndim != 3:
        hint = {2: f"; one image? pass {name}[None]",
                4: "; the tasks feed grey images: keep one channel"}.get(array.ndim, "")
        raise ConfigError(f"{name}: expected a stack of grey images (N, H, W) or "
                          f"(N, 1, H, W), got shape {shape}{hint}")
    if shape[0] == 0:
        raise ConfigError(f"{name}: holds no images (shape {shape})")
    if min(array.shape[1:]) < MIN_TILE:
        raise ConfigError(f"{name}: images of {array.shape[1]} x {array.shape[2]} px; expected "
                          f"at least {MIN_TILE} x {MIN_TILE} (the smallest encoders' input)")
    return torch.from_numpy(_eight_bit(array, window, name))[:, None]


def volume_tiles_of(volume: Any, *, tile: int = 64, z_step: int = 1, window: str | None = None,
                    name: str = "volume") -> torch.Tensor:
    """The uint8 tiles ``(N, 1, tile, tile)`` of ``volume`` ``(z, y, x)`` (a 2D array is one
    slice), cut as a volume file's are
    (:func:`~mtneuro.data.volume_file.volume_tiles`: every ``z_step``-th slice, no overlap).

    Raises:
        ConfigError: not an array or tensor of real numbers, not 2D / 3D, no voxels, a bad
            ``tile`` / ``z_step``, slices smaller than a tile, or values refused by the window
            rules (see the module).
    """
    check_tiling(tile, z_step)
    array = as_array(volume, name)
    if array.ndim not in (2, 3):
        raise ConfigError(f"{name}: expected a 3D array (z, y, x) or one 2D slice, got shape "
                          f"{tuple(array.shape)}; a stack of images? pass images= instead")
    array = array[None] if array.ndim == 2 else array
    if array.size == 0:
        raise ConfigError(f"{name}: holds no voxels (shape {tuple(array.shape)})")
    bounds = default_window(array[::z_step], window, name)
    return torch.from_numpy(_mapped(lambda: array_tiles(
        array, Path(name), tile=tile, z_step=z_step, window=bounds, name=name,
        param=source_params_param)))


__all__ = ["as_array", "default_window", "image_stack", "source_params_param",
           "volume_tiles_of"]
