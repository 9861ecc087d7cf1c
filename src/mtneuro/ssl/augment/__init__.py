"""Batched, on-device augmentations.

- :mod:`mtneuro.ssl.augment.images`: image transforms for ``(B, C, H, W)`` and
  ``(B, C, D, H, W)`` (crops, flips, 90-degree rotations), their base class and the
  :data:`AUGMENTATIONS` registry.
- :mod:`mtneuro.ssl.augment.intensity`: brightness/contrast, blur, noise, normalisation.
- :mod:`mtneuro.ssl.augment.functional`: the same operations with per-sample parameters
  (``resized_crop``, ``brightness_contrast``), equal per sample to torchvision's.
- :mod:`mtneuro.ssl.augment.pipeline`: :class:`Compose` and the MTNeuro view
  :func:`mtneuro_view`.
- :mod:`mtneuro.ssl.augment.neural`: population-vector transforms (import that module).
"""

from mtneuro.ssl.augment.images import (
    AUGMENTATIONS,
    ImageTransform,
    RandomCrop,
    RandomDepthFlip,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRot90,
    RandomVerticalFlip,
)
from mtneuro.ssl.augment.intensity import (
    Normalize,
    RandomBrightnessContrast,
    RandomGaussianBlur,
    RandomGaussianNoise,
)
from mtneuro.ssl.augment.pipeline import Compose, mtneuro_view

__all__ = [
    "AUGMENTATIONS",
    "Compose",
    "ImageTransform",
    "Normalize",
    "RandomBrightnessContrast",
    "RandomCrop",
    "RandomDepthFlip",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomRot90",
    "RandomVerticalFlip",
    "mtneuro_view",
]
