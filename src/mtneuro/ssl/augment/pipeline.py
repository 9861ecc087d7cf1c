"""Composing batched transforms: pipelines and the MTNeuro SSL view."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import torch

from mtneuro.errors import ConfigError
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


def _takes_generator(t: Callable[..., object]) -> bool:
    """Whether ``t`` declares a ``generator`` parameter, as every mtneuro transform does."""
    try:
        params = inspect.signature(t).parameters
    except (TypeError, ValueError):  # builtins and C callables may have no signature
        return False
    p = params.get("generator")
    return p is not None and p.kind is not inspect.Parameter.VAR_KEYWORD


class Compose:
    """Apply transforms in order, passing one generator through all of them.

    A transform that declares a ``generator`` parameter (every mtneuro transform, a nested
    :class:`Compose`) is called as ``t(x, generator)`` with the shared generator; any other
    callable (a ``lambda x: ...``, a torchvision transform) is called as ``t(x)`` and draws
    from its own random source, so a ``seed`` does not make it reproducible.

    Args:
        transforms: callables from a ``(B, ...)`` tensor to a tensor.
        seed: seeds the pipeline's CPU generator (used when none is passed in).
    """

    def __init__(
        self, transforms: Sequence[Callable[..., torch.Tensor]], *, seed: int | None = None
    ) -> None:
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise ConfigError(f"Compose transforms[{i}]: expected a callable, "
                                f"got {type(t).__name__} {t!r}")
        # Decided once: inspecting signatures on every batch would cost more than the flips.
        self._with_generator = [_takes_generator(t) for t in self.transforms]
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        g = generator if generator is not None else self.generator
        for t, with_generator in zip(self.transforms, self._with_generator, strict=True):
            x = t(x, g) if with_generator else t(x)
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
