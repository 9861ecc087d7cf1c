"""Sliding-window inference without MONAI: MONAI ``sliding_window_inference``, the part we use.

Task 2 once imported ``monai.inferers`` for this one function; importing it loads all of
MONAI (and sklearn), about 2 s per command, and made task 2 need the ``seg`` extra even
for the built-in U-Nets. :func:`sliding_window_inference` mirrors MONAI 1.x for a tensor
predictor whose output has the window's spatial size: the same windows in the same order,
the same window batches, the same importance map and the same float operations in the
same order, so its output is ``torch.equal`` to MONAI's (a test checks it against MONAI
where the extra is installed). Left out: buffering, ``sw_device`` / ``device``, outputs
of another resolution, tuple / dict outputs, ``process_fn`` and ``with_coord``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import product

import torch
import torch.nn.functional as F

#: How overlapping windows are blended (MONAI's ``BlendMode`` values).
BLEND_MODES = ("constant", "gaussian")


def importance_map(
    patch: Sequence[int],
    mode: str = "constant",
    sigma_scale: float | Sequence[float] = 0.125,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Weight of each voxel of a window (MONAI ``compute_importance_map``).

    ``"gaussian"``: a separable Gaussian, sigma ``sigma_scale * side`` per dimension,
    clamped below at its own minimum or 1e-3 so that no weight is zero.
    """
    if mode not in BLEND_MODES:
        raise ValueError(f"mode: expected one of {BLEND_MODES}, got {mode!r}")
    if mode == "constant":
        weights = torch.ones(tuple(patch), device=device, dtype=torch.float)
    else:
        scales = ([float(sigma_scale)] * len(patch) if isinstance(sigma_scale, (int, float))
                  else list(sigma_scale))
        # built 1D by 1D as MONAI does: the product's rounding depends on the order
        for i, side in enumerate(patch):
            x = torch.arange(start=-(side - 1) / 2.0, end=(side - 1) / 2.0 + 1,
                             dtype=torch.float, device=device)
            x = torch.exp(x**2 / (-2 * (side * scales[i]) ** 2))
            weights = weights.unsqueeze(-1) * x[(None,) * i] if i > 0 else x
    floor = max(torch.min(weights).item(), 1e-3)
    return torch.clamp_(weights.to(torch.float), min=floor).to(dtype)


def window_starts(size: int, roi: int, interval: int) -> list[int]:
    """First index of each window along one axis; the last one is moved back to end at the edge
    (MONAI ``dense_patch_slices``, whose window count this keeps)."""
    count = math.ceil(size / interval)
    last = next((d for d in range(count) if d * interval + roi >= size), None)
    n = last + 1 if last is not None else 1
    return [i * interval - max(i * interval + roi - size, 0) for i in range(n)]


def window_slices(
    size: Sequence[int], roi: Sequence[int], overlap: float
) -> list[tuple[slice, ...]]:
    """Every window's spatial slices, the last axis fastest (MONAI's order)."""
    # a window as large as the image steps by its own size: one window on that axis
    intervals = [r if r == s else max(int(r * (1 - overlap)), 1) for r, s in zip(roi, size)]
    starts = [window_starts(s, r, i) for s, r, i in zip(size, roi, intervals)]
    return [tuple(slice(a, a + r) for a, r in zip(corner, roi)) for corner in product(*starts)]


def sliding_window_inference(
    inputs: torch.Tensor,
    roi_size: Sequence[int],
    sw_batch_size: int,
    predictor: Callable[[torch.Tensor], torch.Tensor],
    overlap: float = 0.25,
    mode: str = "constant",
    sigma_scale: float | Sequence[float] = 0.125,
    cval: float = 0.0,
) -> torch.Tensor:
    """Predict ``inputs`` window by window and blend the windows (MONAI
    ``sliding_window_inference``, same arguments and defaults).

    Args:
        inputs: ``(N, C, *spatial)``.
        roi_size: window size per spatial axis; a side larger than the image pads the image
            (zeros, or ``cval``, split evenly) and the output is cropped back.
        sw_batch_size: windows per predictor call; a call may hold windows of two images.
        predictor: ``(b, C, *roi_size)`` to ``(b, C_out, *roi_size)``.
        overlap: fraction of a window shared with its neighbour, in [0, 1).
        mode: ``"constant"`` (plain average) or ``"gaussian"`` (centre-weighted).

    Returns:
        ``(N, C_out, *spatial)`` in the dtype of ``inputs``.
    """
    spatial_dims = inputs.ndim - 2
    if len(roi_size) != spatial_dims:
        raise ValueError(f"roi_size {tuple(roi_size)}: expected {spatial_dims} sizes for "
                         f"inputs of shape {tuple(inputs.shape)}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be >= 0 and < 1, got {overlap}.")
    roi = [int(r) if r and r > 0 else s for r, s in zip(roi_size, inputs.shape[2:])]
    original = list(inputs.shape[2:])
    pad: list[int] = []  # F.pad order: last axis first
    for r, s in zip(reversed(roi), reversed(original)):
        short = max(r - s, 0)
        pad += [short // 2, short - short // 2]
    if any(pad):
        inputs = F.pad(inputs, pad=pad, mode="constant", value=cval)
    size = list(inputs.shape[2:])
    slices = window_slices(size, roi, overlap)
    weights = importance_map(roi, mode, sigma_scale, device=inputs.device,
                             dtype=inputs.dtype)[None, None]

    n_windows = len(slices)
    total = inputs.shape[0] * n_windows
    output: torch.Tensor | None = None
    for first in range(0, total, sw_batch_size):
        where = [(slice(k // n_windows, k // n_windows + 1), slice(None), *slices[k % n_windows])
                 for k in range(first, min(first + sw_batch_size, total))]
        # a single window goes as a view, a batch as a copy: what MONAI passes the predictor
        batch = torch.cat([inputs[w] for w in where]) if sw_batch_size > 1 else inputs[where[0]]
        predicted = predictor(batch)
        if output is None:
            output = torch.zeros([inputs.shape[0], predicted.shape[1], *size],
                                 dtype=inputs.dtype, device=inputs.device)
        # MONAI scales in place; a new tensor spares a predictor that returns its input view
        weighted = (predicted * weights).to(predicted.dtype)
        # one slice add per window, in window order: overlaps sum in MONAI's order
        for w, window in zip(where, weighted):
            output[w] += window
    assert output is not None  # at least one window per image
    count = torch.zeros([1, 1, *size], dtype=inputs.dtype, device=inputs.device)
    for s in slices:
        count[(slice(None), slice(None), *s)] += weights
    output /= count
    if any(pad):
        crop = [slice(pad[2 * (spatial_dims - 1 - i)], pad[2 * (spatial_dims - 1 - i)] + s)
                for i, s in enumerate(original)]
        output = output[(slice(None), slice(None), *crop)]
    return output
