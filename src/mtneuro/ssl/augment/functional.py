"""Batched functional forms of the image transforms, with per-sample parameters.

Each function takes its parameters as ``(B,)`` or ``(B, k)`` tensors, one row per sample,
and processes the whole batch in a few tensor operations (no loop over samples). Each
equals, sample by sample, the torchvision ``transforms.v2.functional`` operation it names
(checked in ``tests/ssl_core/test_augment_torchvision.py``). The random transforms of
:mod:`mtneuro.ssl.augment.images` and :mod:`mtneuro.ssl.augment.intensity` draw the
parameters and call these.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a per-sample ``(B,)`` tensor to broadcast against ``x`` ``(B, ...)``."""
    return v.view(-1, *([1] * (x.dim() - 1)))


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crop each sample's box and resize it bilinearly to ``size x size``, all in one call.

    Per sample this equals torchvision's ``resized_crop(x[i], top, left, height, width,
    [size, size], antialias=False)``: the source index of an output pixel is the one
    ``interpolate`` (``align_corners=False``) uses, clamped to the box as ``interpolate``
    clamps it to the crop, so no pixel outside the box leaks in. A box larger than the
    output is not low-pass filtered first (torchvision's default ``antialias=True`` would).

    Args:
        x: ``(B, C, [D,] H, W)`` float images.
        boxes: ``(B, 4)`` integer ``(top, left, height, width)`` inside the image.
        size: output height and width (pixels).
    """
    b, (h, w) = x.shape[0], x.shape[-2:]
    boxes = boxes.to(device=x.device, dtype=x.dtype)
    centres = torch.arange(size, device=x.device, dtype=x.dtype) + 0.5

    def axis(start: torch.Tensor, length: torch.Tensor, n: int) -> torch.Tensor:
        src = (centres * (length / size)[:, None] - 0.5).clamp(min=0)
        src = torch.minimum(src, (length - 1)[:, None]) + start[:, None]
        return (2 * src + 1) / n - 1  # pixel index -> grid_sample's [-1, 1] (pixel centres)

    gy, gx = axis(boxes[:, 0], boxes[:, 2], h), axis(boxes[:, 1], boxes[:, 3], w)
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    # depth and channels share one 2D sampling: (B, C*D, H, W)
    out = F.grid_sample(x.reshape(b, -1, h, w), grid, mode="bilinear",
                        padding_mode="border", align_corners=False)
    return out.reshape(*x.shape[:-2], size, size)


def _gray_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-sample mean of the grayscale image, shaped to broadcast: torchvision's contrast
    centre (ITU-R 601-2 luma for 3 channels; the plain mean otherwise; a 3D block's whole
    depth)."""
    if x.shape[1] != 3:
        return x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
    m = x.mean(dim=tuple(range(2, x.dim())))  # (B, 3); the weighted sum of means = gray mean
    return bcast(m[:, 0] * 0.2989 + m[:, 1] * 0.587 + m[:, 2] * 0.114, x)


def brightness_contrast(
    x: torch.Tensor,
    brightness: torch.Tensor,
    contrast: torch.Tensor,
    contrast_first: torch.Tensor,
    *,
    clamp: bool = True,
) -> torch.Tensor:
    """torchvision's ``adjust_brightness`` and ``adjust_contrast`` with per-sample factors.

    Each sample gets ``adjust_contrast(adjust_brightness(x, b), c)``, or the other order
    where ``contrast_first``; each step clips to [0, 1] (``clamp``) as torchvision's does.

    Args:
        x: ``(B, C, [D,] H, W)`` float images in [0, 1].
        brightness, contrast: ``(B,)`` non-negative factors (1 = unchanged).
        contrast_first: ``(B,)`` bool.
        clamp: clip after each step (False: for inputs outside [0, 1]; no clipping at all).
    """
    fb, fc = (bcast(f, x).to(x.dtype) for f in (brightness, contrast))
    cf = bcast(contrast_first, x)

    def step(y: torch.Tensor, f: torch.Tensor, is_contrast: torch.Tensor) -> torch.Tensor:
        # Both are blends f * y + (1 - f) * m: brightness with black (m = 0), contrast with
        # the grey mean of the image as it is at this step (after the first step's clipping).
        centre = torch.where(is_contrast, _gray_mean(y), 0.0)
        y = torch.addcmul(centre * (1 - f), y, f)
        return y.clamp_(0, 1) if clamp else y

    y = step(x, torch.where(cf, fc, fb), cf)
    return step(y, torch.where(cf, fb, fc), ~cf)
