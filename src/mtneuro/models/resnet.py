"""ResNet encoders for 2D tiles ``(B, C, H, W)`` and 3D blocks ``(B, C, D, H, W)``.

Registered in :data:`mtneuro.models.registry.ENCODERS`:

- ``resnet18`` - the MTNeuro "X-ray" ResNet-18 (Quesada et al. 2022,
  ``resnet_xray``): torchvision ResNet-18 (``weights=None``) whose first convolution
  is 3x3 / stride 1 on ``in_channels`` (default 1), without the max-pool and with the
  classifier removed: 512-d features. ``spatial_dims=3`` builds the same layout with
  3D convolutions (our own BasicBlock implementation) for ``(B, 1, 8, H, W)`` blocks,
  pooling over depth too.
- ``resnet18-imagenet`` - the standard 7x7 / stride-2 stem with max-pool (1 or 3 channels).
- ``resnet18-small`` - 3x3 stem, no max-pool, 3 input channels by default; for tiny
  images (8x8 digits, 32x32 CIFAR), as in the MYOW CIFAR experiments.
- ``resnet-tiny`` - widths 16-32-64-64 with one BasicBlock per stage, 2D or 3D; for
  tests and quick presets.

Every encoder has ``out_dim``, ``in_channels``, ``spatial_dims``,
``forward_features(x) -> (B, out_dim, *spatial)`` (the last feature map) and
``forward(x) -> (B, out_dim)`` (global average pool). The module structure is part of
the API (the U-Net decoders tap it, and checkpoints key on it): torchvision variants
hold ``net.conv1 .. net.layer4``, :class:`ResNet` holds ``stem`` and ``stages``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models.registry import ENCODERS
from mtneuro.registry import check_choice

Stem = Literal["small", "imagenet"]


def _check_dims(spatial_dims: int) -> int:
    if spatial_dims not in (2, 3):
        raise ConfigError(f"spatial_dims: expected 2 or 3, got {spatial_dims!r}")
    return spatial_dims


def _is_size(value: object) -> bool:
    # a bool is an int to Python, but Conv2d(True, 64) is no network anyone asked for
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_channels(in_channels: int) -> int:
    if not _is_size(in_channels):
        raise ConfigError(f"in_channels: expected int >= 1, got {in_channels!r}")
    return in_channels


def _check_widths(widths: tuple[int, ...] | list[int]) -> None:
    if not all(_is_size(width) for width in widths):
        raise ConfigError(f"widths: expected a sequence of ints >= 1, got {list(widths)!r}")


def _check_input(x: torch.Tensor, spatial_dims: int, in_channels: int, name: str,
                 dtype: torch.dtype) -> None:
    """``x`` is a ``(B, C, *spatial)`` floating tensor that ``dtype`` weights can take: a
    wrong one is named here, not by a convolution deep inside ("expected scalar type ...").

    ``dtype`` is the module's. Only integer and float64 inputs to a module of another type
    are refused: a half / bfloat16 input may be fine under autocast.
    """
    if x.dim() != spatial_dims + 2 or x.shape[1] != in_channels:
        layout = "(B, C, H, W)" if spatial_dims == 2 else "(B, C, D, H, W)"
        raise ValueError(
            f"{name} expects {layout} with C={in_channels}, got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point() or (x.dtype == torch.float64 and dtype != torch.float64):
        want = str(dtype).removeprefix("torch.")
        expected = ("float32 images in [0, 1]" if dtype == torch.float32
                    else f"{want} (the module's dtype)")
        fix = f"x.to(torch.{want})" + (" / 255" if x.dtype == torch.uint8 else "")
        raise ValueError(f"{name} expects {expected}, got dtype "
                         f"{str(x.dtype).removeprefix('torch.')} (convert with {fix})")


def _dtype_of(module: nn.Module) -> torch.dtype:
    """The module's parameter dtype (float32 for one without parameters)."""
    for parameter in module.parameters():
        return parameter.dtype
    return torch.float32


class TorchvisionResNet18(nn.Module):
    """torchvision ResNet-18 (random init) with a configurable stem, classifier removed.

    Args:
        in_channels: input channels C.
        stem: ``"small"`` (3x3 stride-1 convolution, no max-pool: MTNeuro X-ray and
            small-image variant) or ``"imagenet"`` (7x7 stride-2 + max-pool).

    Shapes:
        ``(B, C, H, W)`` -> ``(B, 512)``.
    """

    def __init__(self, *, in_channels: int = 1, stem: Stem = "small") -> None:
        super().__init__()
        self.in_channels = _check_channels(in_channels)
        self.stem_kind = check_choice("stem", stem, ("small", "imagenet"))
        self.spatial_dims = 2
        # imported here: torchvision imports torch._dynamo (~1-2 s) for every command
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        if stem == "small":
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        else:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        net.fc = nn.Identity()
        self.net = net
        self.out_dim = 512

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> last feature map ``(B, 512, h, w)``."""
        _check_input(x, 2, self.in_channels, type(self).__name__, _dtype_of(self))
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, 512)``."""
        return torch.flatten(self.net.avgpool(self.forward_features(x)), 1)


class BasicBlock(nn.Module):
    """Two 3x3(x3) convolutions with BatchNorm and an identity/projection shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, spatial_dims: int) -> None:
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        self.conv1 = conv(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm(out_ch)
        self.conv2 = conv(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = norm(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                conv(in_ch, out_ch, 1, stride=stride, bias=False), norm(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A BasicBlock ResNet for 2D or 3D inputs (MONAI-style ``spatial_dims``).

    Args:
        widths: channels of the four (or any number of) stages; the first stage keeps
            the resolution, each later one halves it (depth included in 3D).
        blocks: BasicBlocks per stage, same length as ``widths``.
        in_channels: input channels C.
        spatial_dims: 2 for ``(B, C, H, W)``, 3 for ``(B, C, D, H, W)``.
        stem: ``"small"`` (3x3 stride-1 convolution, no max-pool) or ``"imagenet"``
            (7x7 stride-2 convolution + 3x3 stride-2 max-pool).

    Shapes:
        ``(B, C, *spatial)`` -> ``(B, widths[-1])``.
    """

    def __init__(
        self,
        *,
        widths: tuple[int, ...] | list[int],
        blocks: tuple[int, ...] | list[int],
        in_channels: int = 1,
        spatial_dims: int = 2,
        stem: Stem = "small",
    ) -> None:
        super().__init__()
        if len(widths) != len(blocks) or not widths:
            raise ConfigError(
                f"widths and blocks: expected equal non-empty lengths, got {widths} and {blocks}"
            )
        _check_widths(widths)
        self.in_channels = _check_channels(in_channels)
        self.spatial_dims = _check_dims(spatial_dims)
        check_choice("stem", stem, ("small", "imagenet"))
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        pool = nn.MaxPool2d if spatial_dims == 2 else nn.MaxPool3d
        w0 = widths[0]
        if stem == "small":
            layers: list[nn.Module] = [conv(in_channels, w0, 3, stride=1, padding=1, bias=False)]
        else:
            layers = [conv(in_channels, w0, 7, stride=2, padding=3, bias=False)]
        layers += [norm(w0), nn.ReLU(inplace=True)]
        if stem == "imagenet":
            layers.append(pool(3, stride=2, padding=1))
        self.stem = nn.Sequential(*layers)
        stages = []
        in_ch = w0
        for i, (width, n) in enumerate(zip(widths, blocks)):
            stage = [BasicBlock(in_ch, width, 1 if i == 0 else 2, spatial_dims)]
            stage += [BasicBlock(width, width, 1, spatial_dims) for _ in range(n - 1)]
            stages.append(nn.Sequential(*stage))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1) if spatial_dims == 2 else nn.AdaptiveAvgPool3d(1)
        self.out_dim = int(widths[-1])
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> last feature map ``(B, out_dim, *spatial')``."""
        _check_input(x, self.spatial_dims, self.in_channels, type(self).__name__,
                     _dtype_of(self))
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *spatial)`` -> ``(B, out_dim)``."""
        return torch.flatten(self.pool(self.forward_features(x)), 1)


def _resnet18(stem: str, in_channels: int, spatial_dims: int) -> nn.Module:
    """ResNet-18 with ``stem``: torchvision's in 2D, :class:`ResNet` BasicBlocks in 3D."""
    if _check_dims(spatial_dims) == 2:
        return TorchvisionResNet18(in_channels=in_channels, stem=stem)
    return ResNet(
        widths=(64, 128, 256, 512),
        blocks=(2, 2, 2, 2),
        in_channels=in_channels,
        spatial_dims=3,
        stem=stem,
    )


@ENCODERS.register("resnet18")
def resnet18(*, in_channels: int = 1, spatial_dims: int = 2) -> nn.Module:
    """MTNeuro X-ray ResNet-18: 3x3 stride-1 stem, no max-pool, 512-d (2D or 3D)."""
    return _resnet18("small", in_channels, spatial_dims)


@ENCODERS.register("resnet18-imagenet")
def resnet18_imagenet(*, in_channels: int = 1, spatial_dims: int = 2) -> nn.Module:
    """Standard ResNet-18 (7x7 stride-2 stem + max-pool), 512-d."""
    return _resnet18("imagenet", in_channels, spatial_dims)


@ENCODERS.register("resnet18-small")
def resnet18_small(*, in_channels: int = 3) -> nn.Module:
    """ResNet-18 for tiny RGB images (8x8, 32x32): 3x3 stride-1 stem, no max-pool, 512-d."""
    return TorchvisionResNet18(in_channels=in_channels, stem="small")


@ENCODERS.register("resnet-tiny")
def resnet_tiny(
    *,
    in_channels: int = 1,
    spatial_dims: int = 2,
    widths: tuple[int, ...] | list[int] = (16, 32, 64, 64),
) -> nn.Module:
    """A small ResNet (one BasicBlock per stage), 2D or 3D, ``out_dim = widths[-1]``."""
    return ResNet(
        widths=tuple(widths),
        blocks=(1,) * len(widths),
        in_channels=in_channels,
        spatial_dims=spatial_dims,
        stem="small",
    )
