"""Batched, device-side intensity augmentations: brightness / contrast, Gaussian blur,
Gaussian noise, and the input normalisation.

They follow the conventions of :mod:`mtneuro.ssl.augment.images` (per-sample parameters,
one application probability ``p``, randomness from the ``generator`` passed in) and
register in its :data:`~mtneuro.ssl.augment.images.AUGMENTATIONS` registry.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mtneuro.errors import ConfigError
from mtneuro.ssl.augment.functional import bcast, brightness_contrast
from mtneuro.ssl.augment.images import AUGMENTATIONS, ImageTransform, _check_image, _rand
from mtneuro.vocab import XRAY_MEAN, XRAY_STD


def _color_range(value: float | Sequence[float], name: str) -> tuple[float, float]:
    """torchvision's ColorJitter ranges: ``v`` -> ``[max(0, 1 - v), 1 + v]``, or ``(min, max)``."""
    lo, hi = (max(0.0, 1.0 - value), 1.0 + value) if isinstance(value, (int, float)) else value
    if (isinstance(value, (int, float)) and value < 0) or not 0 <= lo <= hi:
        raise ValueError(f"RandomBrightnessContrast {name}: expected a float >= 0 or "
                         f"0 <= min <= max, got {value!r}")
    return float(lo), float(hi)


@AUGMENTATIONS.register("brightness_contrast")
class RandomBrightnessContrast(ImageTransform):
    """torchvision's ``ColorJitter(brightness, contrast)`` with factors drawn per sample.

    Factors are uniform in ``[max(0, 1 - b), 1 + b]`` (or a given ``(min, max)``); like
    ColorJitter, which applies its operations in a random order, each sample takes
    brightness or contrast first with probability 1/2. See :func:`brightness_contrast`.

    Args:
        brightness: maximum relative brightness change b, or a ``(min, max)`` factor range.
        contrast: maximum relative contrast change c, or a ``(min, max)`` factor range.
        clamp: clip to [0, 1] after each step (inputs in [0, 1], before normalisation).
        p: probability per sample (``RandomApply([ColorJitter(...)], p)``).
    """

    floating_only = True

    def __init__(
        self,
        *,
        brightness: float | tuple[float, float] = 0.4,
        contrast: float | tuple[float, float] = 0.4,
        clamp: bool = True,
        p: float = 0.8,
        seed: int | None = None,
    ) -> None:
        super().__init__(p=p, seed=seed)
        self.brightness = _color_range(brightness, "brightness")
        self.contrast = _color_range(contrast, "contrast")
        self.clamp = clamp

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        u = _rand((x.shape[0], 3), g, x.device)
        (b0, b1), (c0, c1) = self.brightness, self.contrast
        fb = torch.where(mask, b0 + (b1 - b0) * u[:, 0], 1.0)
        fc = torch.where(mask, c0 + (c1 - c0) * u[:, 1], 1.0)
        y = brightness_contrast(x, fb, fc, u[:, 2] < 0.5, clamp=self.clamp)
        return torch.where(bcast(mask, x), y, x)


@AUGMENTATIONS.register("gaussian_blur")
class RandomGaussianBlur(ImageTransform):
    """Separable Gaussian blur in (H, W) with ``sigma ~ U[sigma]`` drawn per sample.

    All samples are blurred by two grouped convolutions (one kernel per sample and
    channel), with reflect padding.

    Args:
        kernel_size: odd kernel length (pixels).
        sigma: range of the standard deviation (pixels).
        p: probability per sample.
    """

    floating_only = True

    def __init__(
        self,
        *,
        kernel_size: int = 9,
        sigma: tuple[float, float] = (0.1, 2.0),
        p: float = 0.5,
        seed: int | None = None,
    ) -> None:
        super().__init__(p=p, seed=seed)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"RandomGaussianBlur kernel_size: expected an odd int, got {kernel_size!r}"
            )
        if not 0 < sigma[0] <= sigma[1]:  # sigma 0 divides by zero: NaN images
            raise ValueError(f"RandomGaussianBlur sigma: expected 0 < min <= max, got "
                             f"{tuple(sigma)!r}")
        self.kernel_size, self.sigma = kernel_size, tuple(sigma)

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        b, (h, w), k = x.shape[0], x.shape[-2:], self.kernel_size
        # the kernel in the image's precision (at least float32), as torchvision builds it
        dtype = torch.promote_types(x.dtype, torch.float32)
        u = _rand((b,), g, x.device).to(dtype)
        sig = self.sigma[0] + (self.sigma[1] - self.sigma[0]) * u
        t = torch.arange(k, device=x.device, dtype=dtype) - k // 2
        kern = torch.exp(-(t[None] ** 2) / (2 * sig[:, None] ** 2))
        kern = kern / kern.sum(dim=1, keepdim=True)
        kern = torch.where(mask[:, None], kern, (t == 0).to(dtype)[None])  # delta = identity
        flat = x.reshape(1, -1, h, w)  # (1, B*C*D, H, W): one group per (sample, channel, slice)
        per = flat.shape[1] // b
        kern = kern.to(x.dtype).repeat_interleave(per, dim=0)  # (B*C*D, k)
        pad = k // 2
        mode = "reflect" if min(h, w) > pad else "replicate"
        flat = F.conv2d(
            F.pad(flat, (pad, pad, 0, 0), mode=mode), kern[:, None, None, :], groups=flat.shape[1]
        )
        flat = F.conv2d(
            F.pad(flat, (0, 0, pad, pad), mode=mode), kern[:, None, :, None], groups=flat.shape[1]
        )
        return flat.reshape(x.shape)


@AUGMENTATIONS.register("gaussian_noise")
class RandomGaussianNoise(ImageTransform):
    """Add zero-mean Gaussian noise of standard deviation ``std`` (intensity units)."""

    floating_only = True

    def __init__(self, *, std: float = 0.05, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(p=p, seed=seed)
        if isinstance(std, bool) or not isinstance(std, numbers.Real) or not 0 <= std < math.inf:
            raise ConfigError(f"RandomGaussianNoise std: expected a finite float >= 0, "
                              f"got {std!r}")
        self.std = std

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        noise = _rand(x.shape, g, x.device, normal=True).to(x.dtype) * self.std
        return x + noise * bcast(mask, x).to(x.dtype)


@AUGMENTATIONS.register("normalize")
class Normalize(ImageTransform):
    """``(x - mean) / std`` (deterministic; scalar or per-channel statistics)."""

    floating_only = True

    def __init__(
        self,
        *,
        mean: float | Sequence[float] = XRAY_MEAN,
        std: float | Sequence[float] = XRAY_STD,
    ) -> None:
        super().__init__(p=1.0)
        # a zero std divides by zero: every pixel would come out inf or NaN
        stds = torch.as_tensor(std, dtype=torch.float64, device="cpu")
        if not bool(((stds > 0) & stds.isfinite()).all()):
            raise ConfigError(f"Normalize std: expected finite floats > 0, got {std!r}")
        self.mean, self.std = mean, std
        # The statistics as tensors, made once per device and type: making a CUDA
        # tensor from Python numbers copies from the host and waits for the device.
        self._tensors: dict[tuple[torch.device, torch.dtype],
                            tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        # deterministic: no per-sample mask is drawn, so the generator's stream is untouched
        _check_image(x, "Normalize", floating=self.floating_only)
        return self.apply(x, None, None)

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor | None, g: torch.Generator | None
    ) -> torch.Tensor:
        """Every sample, whatever ``mask``."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        key = (x.device, x.dtype)
        if key not in self._tensors:
            self._tensors[key] = tuple(torch.as_tensor(v, dtype=x.dtype, device=x.device)
                                       for v in (self.mean, self.std))
        mean, std = self._tensors[key]
        return (x - mean.reshape(shape)) / std.reshape(shape)
