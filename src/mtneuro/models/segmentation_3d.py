"""3D segmentation networks of the MTNeuro task-2 table, from MONAI, for 8-slice blocks.

MTNeuro's 3D setting feeds blocks of 8 consecutive slices ``(B, 1, 8, H, W)``
and predicts every voxel. The three networks of the paper table:

* ``unet3d``: MONAI ``UNet`` with 4 levels of 32-64-128-256 filters (the MTNeuro
  U-Net has 4 blocks starting at 32 filters); three stride-2 steps take 8 slices
  down to 1, so D must be divisible by 8 and H, W by 8.
* ``vnet``: "VNetLight" as in the paper table, the V-Net of Milletari et al. with
  one resolution level fewer than MONAI's ``VNet`` (whose four stride-2 levels
  would need 16 slices). Built from MONAI's V-Net transition blocks; D, H, W
  divisible by 8.
* ``highresnet``: MONAI ``HighResNet`` (dilated residual blocks, no downsampling),
  any D, H, W.
"""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.extras import require

_nets = require("monai.networks.nets", "seg")
_vnet = require("monai.networks.nets.vnet", "seg")
HighResNet, UNet = _nets.HighResNet, _nets.UNet
DownTransition, InputTransition, OutputTransition, UpTransition = (
    _vnet.DownTransition, _vnet.InputTransition, _vnet.OutputTransition, _vnet.UpTransition
)


class VNetLight(nn.Module):
    """V-Net with three resolution levels (16-32-64-128 channels).

    Args:
        in_channels: input channels (16 must be divisible by it).
        out_channels: classes.
        dropout: dropout probability in the two deepest levels.

    Shapes:
        ``(B, in_channels, D, H, W)`` -> ``(B, out_channels, D, H, W)``, D, H, W divisible by 8.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 4, dropout: float = 0.5) -> None:
        super().__init__()
        act = ("elu", {"inplace": True})
        self.in_tr = InputTransition(3, in_channels, 16, act)
        self.down32 = DownTransition(3, 16, 1, act)
        self.down64 = DownTransition(3, 32, 2, act)
        self.down128 = DownTransition(3, 64, 3, act, dropout_prob=dropout)
        self.up128 = UpTransition(3, 128, 128, 2, act, dropout_prob=(dropout, dropout))
        self.up64 = UpTransition(3, 128, 64, 1, act)
        self.up32 = UpTransition(3, 64, 32, 1, act)
        self.out_tr = OutputTransition(3, 32, out_channels, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out16 = self.in_tr(x)
        out32 = self.down32(out16)
        out64 = self.down64(out32)
        out128 = self.down128(out64)
        x = self.up128(out128, out64)
        x = self.up64(x, out32)
        x = self.up32(x, out16)
        return self.out_tr(x)


def build_unet3d(n_classes: int, channels: tuple[int, ...]) -> nn.Module:
    """MONAI 3D U-Net on one input channel; ``channels`` per level, stride 2 between levels."""
    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=n_classes,
        channels=tuple(channels),
        strides=(2,) * (len(channels) - 1),
        num_res_units=1,
        norm="batch",
    )


def build_vnet(n_classes: int) -> nn.Module:
    """V-Net light (three levels) on one input channel, see :class:`VNetLight`."""
    return VNetLight(in_channels=1, out_channels=n_classes)


def build_highresnet(n_classes: int) -> nn.Module:
    """MONAI HighResNet on one input channel with its default 3D layer parameters."""
    return HighResNet(spatial_dims=3, in_channels=1, out_channels=n_classes, dropout_prob=0.0)
