"""Task-1 input protocol: resize tiles, cut test tiles into quadrant crops.

What the MTNeuro reference does (``BrainRegionDataset``, ``tresize=64``; see
``docs`` / ``protocols.md`` B.4): every 256 x 256 tile (uint8 / 255) is resized to
64 x 64; a model is trained on the whole resized tiles; at test time each resized
tile gives its four 32 x 32 quadrant crops (top-left, top-right, bottom-left,
bottom-right), each scored on its own with the tile's region label, so accuracy
is over 4 x the test tiles.

Resizing here is bilinear with antialiasing (the reference uses PIL's Hamming
filter; both low-pass before subsampling, values differ slightly). 3D blocks
``(1, D, H, W)`` are resized slice by slice and cropped the same way in y/x.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mtneuro.errors import ConfigError, DataError

QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")


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
    lead = images.shape[:-2]
    out = torch.empty((*lead, size, size), dtype=torch.float32)
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size]
        batch = batch.float().div_(255.0) if batch.dtype == torch.uint8 else batch.float()
        flat = batch.reshape(-1, 1, *batch.shape[-2:])
        if flat.shape[-2:] != (size, size):
            flat = F.interpolate(
                flat, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        out[start : start + batch_size] = flat.reshape(*batch.shape[:-2], size, size).clamp_(
            0.0, 1.0
        )
    return out


def quadrant_crops(
    images: torch.Tensor, labels: np.ndarray | None = None
) -> tuple[torch.Tensor, np.ndarray | None]:
    """The four quadrant crops of every tile, tile-major then :data:`QUADRANTS` order.

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
