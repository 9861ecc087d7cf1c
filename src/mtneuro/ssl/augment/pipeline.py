"""Composing batched transforms: pipelines and the MTNeuro SSL view."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mtneuro.ssl.augment.images import (
    RandomCrop,
    RandomHorizontalFlip,
    RandomRot90,
    RandomVerticalFlip,
)
from mtneuro.ssl.augment.intensity import (
    Normalize,
    RandomBrightnessContrast,
    RandomGaussianBlur,
    RandomGaussianNoise,
)
from mtneuro.vocab import XRAY_MEAN, XRAY_STD


class Compose:
    """Apply transforms in order, passing one generator through all of them."""

    def __init__(self, transforms: Sequence[object], *, seed: int | None = None) -> None:
        self.transforms = list(transforms)
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        g = generator if generator is not None else self.generator
        for t in self.transforms:
            x = t(x, g)
        return x

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


def mtneuro_view(
    *,
    size: int = 128,
    mean: float = XRAY_MEAN,
    std: float = XRAY_STD,
    strong: bool = False,
    same_on_batch: bool = False,
) -> Compose:
    """The MTNeuro SSL view: random ``size`` crop, then normalisation (protocol section C).

    Args:
        size: crop size in pixels (128 in MTNeuro).
        mean, std: normalisation of [0, 1] intensities (MTNeuro: 0.4894, 0.1238).
        strong: add flips, 90-degree rotations, brightness/contrast, blur and noise
            before the normalisation (not in the MTNeuro configs).
        same_on_batch: one crop offset per batch, as in the reference code.
    """
    steps: list[object] = [RandomCrop(size, same_on_batch=same_on_batch)]
    if strong:
        steps += [
            RandomHorizontalFlip(),
            RandomVerticalFlip(),
            RandomRot90(p=1.0),
            RandomBrightnessContrast(),
            RandomGaussianBlur(),
            RandomGaussianNoise(),
        ]
    steps.append(Normalize(mean=mean, std=std))
    return Compose(steps)
