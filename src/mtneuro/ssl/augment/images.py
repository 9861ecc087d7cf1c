"""Batched, device-side image augmentations for 2D ``(B, C, H, W)`` and 3D ``(B, C, D, H, W)``:
the base class, the registry, and the geometric transforms (crops, flips, 90-degree
rotations); the intensity transforms are in :mod:`mtneuro.ssl.augment.intensity`.

Every transform is a callable class with keyword-only parameters and an application
probability ``p``; each sample draws its own parameters, and all samples are
processed together (no Python loop over samples), on the tensor's device. Spatial
transforms act on the last two axes (H, W); a 3D block keeps its depth.

Randomness comes from the ``generator`` passed to ``__call__``, else from the
transform's own generator (``seed=``), else from torch's global RNG. A CPU generator
may drive CUDA tensors (the few per-sample numbers are drawn on CPU and moved).
Each call draws the same amount of randomness whatever ``p`` is, so a pipeline stays
reproducible when probabilities change. Where a transform is named after a torchvision one
(resized crop, brightness / contrast, Gaussian blur) it computes what torchvision computes
for the same parameters, sample by sample (:mod:`mtneuro.ssl.augment.functional`).

>>> from mtneuro.ssl.augment import mtneuro_view
>>> g = torch.Generator().manual_seed(0)
>>> view = mtneuro_view()                  # random 128 crop + MTNeuro normalisation
>>> view(torch.rand(8, 1, 256, 256), g).shape
torch.Size([8, 1, 128, 128])
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch

from mtneuro.errors import DataError
from mtneuro.registry import Registry
from mtneuro.ssl.augment.functional import bcast, resized_crop

AUGMENTATIONS: Registry[object] = Registry("augmentation")


def _rand(shape: Sequence[int], g: torch.Generator | None, device: torch.device, *,
          normal: bool = False) -> torch.Tensor:
    """Uniform [0, 1) (or standard normal) on ``device``, drawn on the generator's device."""
    draw = torch.randn if normal else torch.rand
    if g is None:
        return draw(*shape, device=device)
    return draw(*shape, generator=g, device=g.device).to(device)


def _check_image(x: torch.Tensor, name: str, *, floating: bool = False) -> None:
    """``x`` is a batch of 2D ``(B, C, H, W)`` or 3D ``(B, C, D, H, W)`` images, of a
    floating dtype if ``floating``.

    Raises:
        DataError: ``floating`` and integer images: computed in their dtype, a blur kernel
            rounds to zeros and noise wraps around, so they are refused, not turned black.
    """
    if x.dim() not in (4, 5):
        raise ValueError(
            f"{name} expects (B, C, H, W) or (B, C, D, H, W), got shape {tuple(x.shape)}"
        )
    if floating and not x.is_floating_point():
        how = ": x.float() / 255" if x.dtype == torch.uint8 else ""
        raise DataError(f"{name} expects floating-point images, got dtype "
                        f"{str(x.dtype).removeprefix('torch.')} (scale them to float in "
                        f"[0, 1] first{how})")


class ImageTransform(ABC):
    """Base class: draws the per-sample apply mask, then calls :meth:`apply`.

    Args:
        p: probability that a sample is transformed.
        seed: seeds the transform's own CPU generator (used when none is passed in).

    A subclass that computes with the pixel values (interpolation, intensity) sets
    ``floating_only``: integer images are refused (:func:`_check_image`).
    """

    floating_only = False

    def __init__(self, *, p: float = 1.0, seed: int | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__} p: expected float in [0, 1], got {p!r}")
        self.p = p
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_image(x, type(self).__name__, floating=self.floating_only)
        g = generator if generator is not None else self.generator
        mask = _rand((x.shape[0],), g, x.device) < self.p
        return self.apply(x, mask, g)

    @abstractmethod
    def apply(self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        """Transform the samples where ``mask`` ``(B,)`` is True; keep the others."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if k != "generator" and not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def _positive_size(name: str, size: int) -> int:
    """``size`` as an int of at least 1 (a crop of 0 pixels would return empty images)."""
    if int(size) != size or size < 1:
        raise ValueError(f"{name} size: expected an int >= 1, got {size!r}")
    return int(size)


@AUGMENTATIONS.register("random_crop")
class RandomCrop(ImageTransform):
    """Crop ``size x size`` at a random integer offset (exact pixels, no interpolation).

    Args:
        size: output height and width (pixels).
        same_on_batch: one offset for the whole batch, as torchvision's ``RandomCrop``
            applied to a batch in the MTNeuro code; default False (one per sample).
        p: probability of a random offset; other samples get the centre crop.

    Shapes:
        ``(B, C, [D,] H, W)`` -> ``(B, C, [D,] size, size)``.
    """

    def __init__(
        self, size: int, *, same_on_batch: bool = False, p: float = 1.0, seed: int | None = None
    ) -> None:
        super().__init__(p=p, seed=seed)
        self.size = _positive_size("RandomCrop", size)
        self.same_on_batch = same_on_batch

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        b, (h, w), s = x.shape[0], x.shape[-2:], self.size
        if s > h or s > w:
            raise ValueError(f"RandomCrop size {s} exceeds the image size {h}x{w}")
        u = _rand((1 if self.same_on_batch else b, 2), g, x.device).expand(b, 2)
        top = torch.where(mask, (u[:, 0] * (h - s + 1)).long().clamp(max=h - s), (h - s) // 2)
        left = torch.where(mask, (u[:, 1] * (w - s + 1)).long().clamp(max=w - s), (w - s) // 2)
        # All windows as a strided view (no copy); advanced indexing copies the chosen ones.
        flat = x.reshape(b, -1, h, w)
        windows = flat.unfold(2, s, 1).unfold(3, s, 1)  # (B, C*D, h-s+1, w-s+1, s, s)
        out = windows[torch.arange(b, device=x.device), :, top, left]  # (B, C*D, s, s)
        return out.reshape(*x.shape[:-2], s, s)


#: torchvision's ``RandomResizedCrop`` draws this many boxes before it falls back to the centre.
_RRC_TRIES = 10


@AUGMENTATIONS.register("random_resized_crop")
class RandomResizedCrop(ImageTransform):
    """Crop a random box (area fraction ``scale``, aspect ``ratio``) and resize it bilinearly.

    Boxes are drawn as torchvision's ``RandomResizedCrop`` draws them: integer sides
    rounded from a uniform area and a log-uniform aspect ratio, up to 10 draws until one
    fits, else the largest centred box of an allowed aspect; a uniform integer offset.
    The 10 draws of all samples are made at once (no loop), so boxes follow torchvision's
    distribution, not its random stream. The resize is :func:`resized_crop`
    (torchvision's with ``antialias=False``).

    Args:
        size: output height and width (pixels).
        scale: range of the box area as a fraction of the image area.
        ratio: range of the box aspect ratio width / height.
        p: probability of a random box; other samples are resized whole.

    Shapes:
        ``(B, C, [D,] H, W)`` -> ``(B, C, [D,] size, size)``; float input.
    """

    floating_only = True

    def __init__(
        self,
        size: int,
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        p: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(p=p, seed=seed)
        for name, (lo, hi) in (("scale", scale), ("ratio", ratio)):
            if not 0 < lo <= hi:
                raise ValueError(f"RandomResizedCrop {name}: expected 0 < min <= max, got "
                                 f"{(lo, hi)!r}")
        self.size = _positive_size("RandomResizedCrop", size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)

    def sample_boxes(
        self, n: int, height: int, width: int, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        """``(n, 4)`` long boxes ``(top, left, height, width)``; the whole image where
        ``mask`` ``(n,)`` is False. Draws ``2 * 10 + 2`` numbers per sample whatever ``mask``."""
        t, cpu = _RRC_TRIES, torch.device("cpu")
        # float64, so sides round as torchvision's; on the CPU, as MPS has no float64 (the
        # (n, 4) boxes then go to the device without a wait, as the mask never comes back)
        u = _rand((n, 2 * t + 2), g, cpu).double()
        area = height * width * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, :t])
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(lo + (hi - lo) * u[:, t : 2 * t])
        bw, bh = torch.sqrt(area * aspect).round(), torch.sqrt(area / aspect).round()
        fits = (bw >= 1) & (bw <= width) & (bh >= 1) & (bh <= height)
        first = fits.long().argmax(dim=1, keepdim=True)  # the first draw that fits
        bw, bh = bw.gather(1, first)[:, 0], bh.gather(1, first)[:, 0]
        # torchvision's fallback: the whole image, narrowed to the nearest allowed aspect
        fw, fh = width, height
        if width / height < self.ratio[0]:
            fh = round(width / self.ratio[0])
        elif width / height > self.ratio[1]:
            fw = round(height * self.ratio[1])
        found = fits.any(dim=1)
        bw, bh = torch.where(found, bw, float(fw)), torch.where(found, bh, float(fh))
        top = torch.where(found, (u[:, 2 * t] * (height - bh + 1)).floor(), (height - fh) // 2)
        left = torch.where(found, (u[:, 2 * t + 1] * (width - bw + 1)).floor(), (width - fw) // 2)
        top, left = top.clamp(max=height - bh), left.clamp(max=width - bw)
        boxes = torch.stack((top, left, bh, bw), dim=1).long().to(mask.device)
        whole = torch.tensor((0, 0, height, width), device=mask.device)  # ``p`` left these out
        return torch.where(mask[:, None], boxes, whole)

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        boxes = self.sample_boxes(x.shape[0], x.shape[-2], x.shape[-1], mask, g)
        return resized_crop(x, boxes, self.size)


class _RandomFlip(ImageTransform):
    """Mirror axis ``axis`` of each sample with probability ``p`` (default 0.5)."""

    axis = -1

    def __init__(self, *, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(p=p, seed=seed)

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        if x.dim() < -self.axis + 2:
            raise ValueError(f"{type(self).__name__} needs (B, C, D, H, W), got {tuple(x.shape)}")
        return torch.where(bcast(mask, x), x.flip(self.axis), x)


@AUGMENTATIONS.register("horizontal_flip")
class RandomHorizontalFlip(_RandomFlip):
    """Mirror the W axis of each sample with probability ``p`` (default 0.5)."""

    axis = -1


@AUGMENTATIONS.register("vertical_flip")
class RandomVerticalFlip(_RandomFlip):
    """Mirror the H axis of each sample with probability ``p`` (default 0.5)."""

    axis = -2


@AUGMENTATIONS.register("depth_flip")
class RandomDepthFlip(_RandomFlip):
    """Mirror the D axis of a 3D block ``(B, C, D, H, W)`` with probability ``p`` (default 0.5)."""

    axis = -3


@AUGMENTATIONS.register("rot90")
class RandomRot90(ImageTransform):
    """Rotate each sample by k x 90 degrees in the (H, W) plane, k uniform in {0, 1, 2, 3}.

    Built from a transpose and two flips selected per sample with ``torch.where``
    (``rot90(x, k) = flips_k(transpose_k(x))``), so it is exact and loop-free.
    Requires H == W. Samples not selected by ``p`` keep k = 0.
    """

    def apply(
        self, x: torch.Tensor, mask: torch.Tensor, g: torch.Generator | None
    ) -> torch.Tensor:
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"RandomRot90 needs square images, got {tuple(x.shape[-2:])}")
        k = torch.where(mask, (_rand((x.shape[0],), g, x.device) * 4).long().clamp(max=3), 0)
        x = torch.where(bcast(k % 2 == 1, x), x.transpose(-2, -1), x)
        x = torch.where(bcast((k == 1) | (k == 2), x), x.flip(-2), x)
        return torch.where(bcast(k >= 2, x), x.flip(-1), x)
