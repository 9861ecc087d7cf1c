"""Encoder registry: every backbone by name, built by :func:`create_encoder`.

timm's habit: a model module registers its encoders when it is imported, and
``mtneuro/models/__init__.py`` imports every model module once, so the entries exist as
soon as any ``mtneuro.models`` module is imported; this module imports none of them (no
import side effect here, no cycle).

Every encoder is an ``nn.Module`` with an integer attribute ``out_dim`` and
``forward(x) -> (B, out_dim)``. Registered names (see :mod:`mtneuro.models.resnet`
and :mod:`mtneuro.models.mlp`):

- ``resnet18``: MTNeuro X-ray ResNet-18 (3x3 stride-1 stem on ``in_channels``, no
  max-pool, 512-d), ``spatial_dims`` 2 or 3;
- ``resnet18-imagenet``: standard 7x7/2 stem + max-pool;
- ``resnet18-small``: for tiny images (8x8 digits, 32x32 CIFAR), 3 channels default;
- ``resnet-tiny``: a small 2D/3D ResNet for tests and quick presets;
- ``mlp``: neural population vectors, ``in_dim`` -> ``hidden`` -> ``out_dim``.

>>> from mtneuro.models import create_encoder
>>> enc = create_encoder("resnet-tiny", in_channels=1)
>>> enc.out_dim
64
"""

from __future__ import annotations

from typing import Any

from torch import nn

from mtneuro.registry import Registry, required_names

ENCODERS: Registry[nn.Module] = Registry("encoder")


def create_encoder(name: str, **kwargs: Any) -> nn.Module:
    """Build the encoder registered as ``name``.

    Args:
        name: a name from ``ENCODERS.list()``; unknown names raise
            :class:`mtneuro.errors.ConfigError` listing the valid ones.
        **kwargs: encoder keyword arguments; ``None`` values are dropped so defaults win.

    Returns:
        The encoder, with attribute ``out_dim``; ``forward(x) -> (B, out_dim)``.
    """
    return ENCODERS.create(name, **kwargs)


def list_encoders(pattern: str = "*") -> list[str]:
    """Names of the registered encoders matching the wildcard ``pattern``."""
    return ENCODERS.list(pattern)


def required_arguments(name: str) -> list[str]:
    """The arguments encoder ``name`` cannot be built without (the neural ``mlp``'s
    ``in_dim``): a name alone, as ``--encoder NAME`` gives it, does not build it."""
    return required_names(ENCODERS.get(name))


def buildable_encoders() -> list[str]:
    """The registered encoders a name alone builds (:func:`required_arguments`: none)."""
    return [name for name in list_encoders() if not required_arguments(name)]
