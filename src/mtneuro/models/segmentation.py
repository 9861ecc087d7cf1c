"""Segmentation networks by name: :data:`SEGMENTATION_MODELS` and :func:`create_segmentation_model`.

Every model maps images to per-pixel class logits:
``(B, 1, H, W) -> (B, n_classes, H, W)`` in 2D and
``(B, 1, D, H, W) -> (B, n_classes, D, H, W)`` in 3D (8-slice blocks in MTNeuro).

==============  ====  ==================  =====================================================
name            dim   H, W                network
==============  ====  ==================  =====================================================
unet            2d    any                 smp U-Net, ResNet-18 encoder (MTNeuro default)
manet           2d    multiple of 32      smp MAnet
fpn             2d    multiple of 32      smp FPN
unetplusplus    2d    multiple of 32      smp UNet++
pan             2d    16k, at least 128   smp PAN
pspnet          2d    multiple of 8       smp PSPNet
ssl-unet        2d    any                 U-Net decoder on an SSL-pretrained (or user) ResNet-18
unet3d          3d    multiple of 8       MONAI 3D U-Net
vnet            3d    multiple of 8       V-Net light (MONAI V-Net blocks, 3 levels)
highresnet      3d    any                 MONAI HighResNet
unet-mtneuro    2d    multiple of 8       MTNeuro's own U-Net (the published U-Net rows' network)
unet3d-mtneuro  3d    multiple of 8       MTNeuro's own U-Net in 3D
==============  ====  ==================  =====================================================

The H, W column is :data:`~mtneuro.input_sides.MODEL_INPUT_SIDES`
(:func:`input_side`), the one table task configs are checked against.

>>> model = create_segmentation_model("unet", n_classes=4, dim="2d")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.input_sides import MODEL_INPUT_DEPTHS, MODEL_INPUT_SIDES, InputSide
from mtneuro.models.checkpoint import input_normalisation
from mtneuro.models.resnet import _check_input, _dtype_of
from mtneuro.registry import Registry, check_choice
from mtneuro.vocab import (  # the zoos, re-exported beside the registry that builds them
    PAPER_MODELS_2D,
    PAPER_MODELS_3D,  # noqa: F401
    SEGMENTATION_MODEL_DIMS,
    SMP_DEFAULT_ENCODER,
)

SEGMENTATION_MODELS: Registry[nn.Module] = Registry("segmentation model")
#: name -> "2d" or "3d" (:data:`mtneuro.vocab.SEGMENTATION_MODEL_DIMS`).
MODEL_DIMS = SEGMENTATION_MODEL_DIMS


def _register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    if name not in MODEL_DIMS:
        raise ValueError(
            f"segmentation model {name!r}: not in mtneuro.vocab.SEGMENTATION_MODEL_DIMS")
    # Without an entry, configs of the model could not be checked for crop and window sizes.
    if name not in MODEL_INPUT_SIDES:
        raise ValueError(f"segmentation model {name!r}: not in "
                         "mtneuro.input_sides.MODEL_INPUT_SIDES")
    return SEGMENTATION_MODELS.register(name)


# The zoos are imported when a model is built, not with the registry: smp (with timm and
# torchvision) and MONAI take seconds each to import, a 2D run needs only smp, a 3D run only
# MONAI, and checking a config needs neither.
def _smp_factory(architecture: str) -> Callable[..., nn.Module]:
    def factory(
        n_classes: int,
        encoder_name: str = SMP_DEFAULT_ENCODER,
        encoder_weights: str | Path | None = None,
    ) -> nn.Module:
        from mtneuro.models.segmentation_2d import build_smp

        return build_smp(
            architecture, n_classes, encoder_name=encoder_name, encoder_weights=encoder_weights
        )

    factory.__doc__ = f"smp {architecture} with one input channel (see segmentation_2d.build_smp)."
    return factory


for _name in PAPER_MODELS_2D:
    _register(_name)(_smp_factory(_name))


@_register("ssl-unet")
def _ssl_unet(
    n_classes: int,
    encoder: nn.Module | str | Path | None = None,
    freeze_encoder: bool = False,
) -> nn.Module:
    """U-Net decoder on an SSL-pretrained ResNet-18.

    Args:
        encoder: a ``mtneuro pretrain`` checkpoint path, a user encoder spec
            understood by :func:`mtneuro.models.user.resolve_encoder`, a module, or
            ``None`` for a randomly initialised MTNeuro ResNet-18 (the supervised
            control with the same architecture).
    """
    input_spec: dict[str, Any] = {}
    if encoder is None:
        from mtneuro.models.registry import create_encoder

        module = create_encoder("resnet18", in_channels=1)
    else:
        from mtneuro.models.user import resolve_encoder

        # a module in memory is read like a loaded one: its input_spec (normalisation,
        # channels, dimensions) counts, as it does when given by path
        module, input_spec = resolve_encoder(
            encoder if isinstance(encoder, nn.Module) else str(encoder))
    label = f"in-memory {type(encoder).__name__}" if isinstance(encoder, nn.Module) else encoder
    if input_spec.get("spatial_dims", 2) != 2 or input_spec.get("in_channels", 1) != 1:
        raise ConfigError(
            f"encoder {label!s}: ssl-unet needs a 2D encoder on 1 channel, "
            f"got input spec {input_spec}"
        )
    from mtneuro.models.segmentation_2d import EncoderUNet

    return EncoderUNet(
        module,
        n_classes,
        freeze_encoder=freeze_encoder,
        **input_normalisation(input_spec, f"encoder {label!s}"),
    )


@_register("unet3d")
def _unet3d(n_classes: int, channels: tuple[int, ...] = (32, 64, 128, 256)) -> nn.Module:
    """MONAI 3D U-Net, ``channels`` per level (MTNeuro's 4 levels from 32 filters; see
    segmentation_3d.build_unet3d)."""
    from mtneuro.models.segmentation_3d import build_unet3d

    return build_unet3d(n_classes, channels=channels)


@_register("unet-mtneuro")
def _unet_mtneuro(n_classes: int) -> nn.Module:
    """MTNeuro's own U-Net in 2D, as the reference's UNet_2D configs build it (see
    unet_mtneuro.MTNeuroUNet)."""
    from mtneuro.models.unet_mtneuro import MTNeuroUNet

    return MTNeuroUNet(n_classes, dim=2)


@_register("unet3d-mtneuro")
def _unet3d_mtneuro(n_classes: int) -> nn.Module:
    """MTNeuro's own U-Net in 3D, as the reference's UNet_3D configs build it."""
    from mtneuro.models.unet_mtneuro import MTNeuroUNet

    return MTNeuroUNet(n_classes, dim=3)


@_register("vnet")
def _vnet(n_classes: int) -> nn.Module:
    """V-Net light (see segmentation_3d.build_vnet)."""
    from mtneuro.models.segmentation_3d import build_vnet

    return build_vnet(n_classes)


@_register("highresnet")
def _highresnet(n_classes: int) -> nn.Module:
    """MONAI HighResNet (see segmentation_3d.build_highresnet)."""
    from mtneuro.models.segmentation_3d import build_highresnet

    return build_highresnet(n_classes)


def list_segmentation_models(dim: str | None = None) -> list[str]:
    """Registered names, optionally only those for ``dim`` (``"2d"`` or ``"3d"``)."""
    names = SEGMENTATION_MODELS.list()
    return names if dim is None else [n for n in names if MODEL_DIMS[n] == dim]


def model_dim(name: str) -> str:
    """``"2d"`` or ``"3d"`` for a registered model name."""
    SEGMENTATION_MODELS.get(name)
    return MODEL_DIMS[name]


def input_side(name: str) -> InputSide:
    """The height and width a registered model takes (multiple and minimum side)."""
    SEGMENTATION_MODELS.get(name)
    return MODEL_INPUT_SIDES[name]


def create_segmentation_model(
    name: str, n_classes: int, dim: str | None = None, **kw: Any
) -> nn.Module:
    """Build a segmentation network by name.

    Args:
        name: one of :func:`list_segmentation_models`; unknown names raise
            :class:`~mtneuro.errors.ConfigError` listing the valid ones.
        n_classes: output classes (3 or 4 in MTNeuro; any >= 2).
        dim: ``"2d"`` or ``"3d"``; if given it must match the model.
        **kw: model options, e.g. ``encoder_name``/``encoder_weights`` (smp models) or
            ``encoder`` (``ssl-unet``); ``None`` values are dropped.

    Returns:
        a module mapping ``(B, 1, [D,] H, W)`` float images to ``(B, n_classes, [D,] H, W)`` logits.
    """
    own_dim = model_dim(name)
    if dim is not None:
        check_choice("dim", dim, ("2d", "3d"))
        if dim != own_dim:
            valid = ", ".join(list_segmentation_models(dim))
            raise ConfigError(f"model {name!r} is {own_dim}, not {dim}; {dim} models: {valid}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ConfigError(f"n_classes: expected int >= 2, got {n_classes!r}")
    # an argument the model does not take is named by the registry (ConfigError)
    model = SEGMENTATION_MODELS.create(name, n_classes=n_classes, **kw)
    model.register_forward_pre_hook(_SideCheck(name, _input_channels(model),
                                                3 if own_dim == "3d" else 2))
    return model


def _input_channels(model: nn.Module) -> int | None:
    """The channels of the model's first convolution (the input's), ``None`` if it has none."""
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))), None)
    return None if first is None else int(first.in_channels)


class _SideCheck:
    """A forward pre-hook refusing, in one line, an input of the wrong layout, channels or
    dtype (as the encoders do: torch would say "expected input[1, 3, 64, 64] to have 1
    channels" or "Input type (unsigned char) and bias type (float) should be the same"), or
    whose height, width or depth the network cannot take (:func:`input_side`): it would fail
    deep inside ("Sizes of tensors must match"), or, for MONAI's 3D U-Net at a side of
    2**k - 1, return a larger output without a word.
    A class, not a closure, so a model with it still pickles (DataLoader workers, spawn)."""

    def __init__(self, name: str, in_channels: int | None = None, spatial_dims: int = 2) -> None:
        self.name = name
        self.in_channels = in_channels
        self.spatial_dims = spatial_dims

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor):
            return  # not an image batch: the network's own error says what it wanted
        if self.in_channels is not None:
            _check_input(x, self.spatial_dims, self.in_channels,
                         f"segmentation model {self.name!r}", _dtype_of(module))
        shape = tuple(x.shape)
        if len(shape) < 4:
            return
        checks = [("height", shape[-2], MODEL_INPUT_SIDES[self.name]),
                  ("width", shape[-1], MODEL_INPUT_SIDES[self.name])]
        if len(shape) == 5 and self.name in MODEL_INPUT_DEPTHS:
            checks.insert(0, ("depth", shape[-3], MODEL_INPUT_DEPTHS[self.name]))
        for what, side, rule in checks:
            if not rule.fits(int(side)):
                nearest = ", ".join(map(str, rule.nearest(int(side))))
                raise ValueError(f"segmentation model {self.name!r} takes a {what} that is "
                                 f"{rule.describe()}, got {side} in an input of shape {shape} "
                                 f"(nearest: {nearest}); crop or pad the input")
