"""Encoder inputs cut from tiles: tiles resized to an input size, their quadrant crops and
their corner crops (tasks 1 and 3 feed encoders these).

* :func:`resize_tiles`: PIL's Hamming resampling of float images, as the reference's
  ``transforms.Resize(size, 5)`` on a mode-'F' tile (``brain_dataset.py:30,45``), written as
  two weight matrices (:func:`hamming_weights`) so whole batches resize at once. 3D blocks
  ``(1, D, H, W)`` are resized slice by slice and cropped the same way in y/x.
* :func:`quadrant_crops`: the four quadrants of each tile (top-left, top-right,
  bottom-left, bottom-right), as the repository's ``BrainRegionDataset``
  (``tresize=64``) and the task-3 reference (``BrainRegionDatasetInfer``) cut them.
* :func:`corner_crops`: the four corner crops of the paper's task-1 probe.
"""

from __future__ import annotations

import numpy as np
import torch

from mtneuro.errors import ConfigError, DataError


def as_unit_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images scaled to float32 in [0, 1]; float images as float32."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _hamming(x: np.ndarray) -> np.ndarray:
    """Pillow's Hamming-windowed sinc, support 1."""
    x = np.abs(x)
    px = np.pi * np.where(x == 0, 1.0, x)
    value = np.where(x == 0, 1.0, np.sin(px) / px * (0.54 + 0.46 * np.cos(px)))
    return np.where(x >= 1.0, 0.0, value)


def hamming_weights(in_size: int, out_size: int) -> np.ndarray:
    """``(out_size, in_size)`` float64 matrix of Pillow's Hamming resampling along one axis.

    Each output pixel averages the inputs within the filter's support (1 pixel, widened by
    the downscale factor) around its centre, weights normalised to sum to one; the window's
    bounds are rounded as Pillow rounds them (``Resample.c``, ``precompute_coeffs``), so the
    result matches ``Image.resize(..., Image.HAMMING)`` on a mode-'F' image to float32 precision.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    centres = (np.arange(out_size) + 0.5) * scale
    first = np.maximum(np.trunc(centres - filter_scale + 0.5), 0.0)
    stop = np.minimum(np.trunc(centres + filter_scale + 0.5), in_size)
    inputs = np.arange(in_size, dtype=np.float64)
    weights = _hamming((inputs[None] - centres[:, None] + 0.5) / filter_scale)
    weights *= (inputs[None] >= first[:, None]) & (inputs[None] < stop[:, None])
    return weights / weights.sum(axis=1, keepdims=True)


def resize_tiles(
    images: np.ndarray | torch.Tensor, size: int, *, batch_size: int = 256
) -> torch.Tensor:
    """Resize tiles to ``size x size`` in y/x.

    Args:
        images: uint8 (scaled by 1/255) or float ``(N, 1, H, W)`` / ``(N, 1, D, H, W)``.
        size: output side in pixels; equal to the input side returns the images as float.
        batch_size: tiles converted at a time (bounds the float temporaries).

    Returns:
        float32 tensor ``(N, 1, size, size)`` / ``(N, 1, D, size, size)`` in [0, 1].
    """
    if not isinstance(size, (int, np.integer)) or size < 2:
        raise ConfigError(f"input_size: expected int >= 2, got {size!r}")
    images = torch.as_tensor(images)
    if images.ndim not in (4, 5) or images.shape[1] != 1:
        raise DataError(
            f"images: expected (N, 1, H, W) or (N, 1, D, H, W), got {tuple(images.shape)}"
        )
    lead, (height, width) = images.shape[:-2], images.shape[-2:]
    if (height, width) == (size, size):
        return as_unit_float(images)
    # Pillow resamples horizontally, then vertically (float32 in between, as here).
    rows = torch.from_numpy(hamming_weights(height, size)).float()
    columns = torch.from_numpy(hamming_weights(width, size)).float().T
    out = torch.empty((*lead, size, size), dtype=torch.float32)
    for start in range(0, images.shape[0], batch_size):
        batch = as_unit_float(images[start : start + batch_size])
        out[start : start + batch_size] = (rows @ (batch @ columns)).clamp_(0.0, 1.0)
    return out


#: The four crops of a tile, in the order :func:`quadrant_crops` and :func:`corner_crops`
#: give them (each tile's crops consecutive).
CROP_NAMES = ("top-left", "top-right", "bottom-left", "bottom-right")


def quadrant_crops(
    images: torch.Tensor, labels: np.ndarray | None = None
) -> tuple[torch.Tensor, np.ndarray | None]:
    """The four quadrant crops of every tile: tile-major, then top-left, top-right,
    bottom-left, bottom-right.

    Args:
        images: ``(N, 1, [D,] S, S)`` with even ``S``.
        labels: optional ``(N,)`` labels, repeated for the four crops of each tile.

    Returns:
        ``(crops (4N, 1, [D,] S/2, S/2), labels (4N,) or None)``.
    """
    side = images.shape[-1]
    if images.shape[-2] != side or side % 2:
        raise DataError(
            f"quadrant crops need square tiles of even side, got {tuple(images.shape[-2:])}"
        )
    half = side // 2
    lead = images.shape[:-2]
    # (N, ..., 2, half, 2, half) -> (N, 2, 2, ..., half, half): rows then columns
    split = images.reshape(*lead, 2, half, 2, half)
    dims = split.ndim
    order = (0, dims - 4, dims - 2, *range(1, dims - 4), dims - 3, dims - 1)
    crops = split.permute(*order).reshape(lead[0] * 4, *lead[1:], half, half)
    return crops.contiguous(), (None if labels is None else np.repeat(np.asarray(labels), 4))


def corner_crops(
    images: torch.Tensor | np.ndarray, size: int, labels: np.ndarray | None = None
) -> tuple[torch.Tensor, np.ndarray | None]:
    """The four ``size`` x ``size`` corner crops of every tile: tile-major, then top-left,
    top-right, bottom-left, bottom-right (``task1_ssl.py:275-290``).

    Args:
        images: ``(N, C, [D,] H, W)`` with ``H, W >= size``.
        labels: optional ``(N,)``, repeated for the four crops.

    Returns:
        ``((4N, C, [D,] size, size), (4N,) labels or None)``.
    """
    images = torch.as_tensor(images)
    if min(images.shape[-2:]) < size:
        raise DataError(f"corner crops of {size} px need tiles at least that large, "
                         f"got {tuple(images.shape[-2:])}")
    corners = (images[..., :size, :size], images[..., :size, -size:],
               images[..., -size:, :size], images[..., -size:, -size:])
    crops = torch.stack(corners, dim=1).reshape(-1, *images.shape[1:-2], size, size)
    return crops, (None if labels is None else np.repeat(np.asarray(labels), 4))
