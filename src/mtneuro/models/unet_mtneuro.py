"""The U-Net of MTNeuro's task-2 baselines, 2D and 3D, as its released configs build it.

The reference's ``UNet_2D`` / ``UNet_3D`` configs build the project's own U-Net
(``MTNeuro/models/unet.py``, through ``scripts/task2_main.py:69-78``; itself adapted from a
public PyTorch 2D/3D U-Net tutorial) with 4 blocks from 32 filters, batch normalisation,
ReLU, 'same' padding and transposed-convolution upsampling. Written here from that
description, layer for layer:

- down block ``i`` (``32 * 2**i`` filters): two 3x3(x3) convolutions, each followed by ReLU
  and then BatchNorm (in that order: activation before normalisation), then a 2x2(x2) max
  pool except after the last block; its output before pooling is the skip connection;
- up block: a 2x2(x2) stride-2 transposed convolution halving the filters, ReLU, BatchNorm,
  concatenation ``[upsampled, skip]``, then two convolutions as in a down block;
- a final 1x1(x1) convolution to the class logits;
- Xavier-uniform weights and zero biases in every (transposed) convolution, PyTorch's
  defaults in BatchNorm.

The reference also builds a 1x1 convolution in each up block that only its non-transposed
upsampling uses; it takes no part in the forward pass and is left out here. Inputs' sides
(and a 3D block's depth) must be multiples of 8: three poolings halve them.
"""

from __future__ import annotations

import torch
from torch import nn

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_UP = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}


def _conv_relu_norm(dim: int, c_in: int, c_out: int) -> list[nn.Module]:
    return [_CONV[dim](c_in, c_out, kernel_size=3, padding=1), nn.ReLU(), _NORM[dim](c_out)]


class _Twice(nn.Sequential):
    """Two convolutions, each followed by ReLU then BatchNorm."""

    def __init__(self, dim: int, c_in: int, c_out: int) -> None:
        super().__init__(*_conv_relu_norm(dim, c_in, c_out), *_conv_relu_norm(dim, c_out, c_out))


class _Up(nn.Module):
    """Upsample ``x`` (transposed conv, ReLU, BatchNorm), join the skip, two convolutions."""

    def __init__(self, dim: int, c_in: int) -> None:
        super().__init__()
        c_out = c_in // 2
        self.up = nn.Sequential(_UP[dim](c_in, c_out, kernel_size=2, stride=2), nn.ReLU(),
                                _NORM[dim](c_out))
        self.convs = _Twice(dim, 2 * c_out, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat((self.up(x), skip), dim=1))


class MTNeuroUNet(nn.Module):
    """MTNeuro's U-Net: ``(B, in_channels, [D,] H, W)`` to ``(B, n_classes, [D,] H, W)``.

    Args:
        n_classes: output classes.
        dim: 2 or 3 (spatial dimensions).
        in_channels: input channels (1 for the X-ray volume).
        blocks: down blocks (the reference's ``n_blocks``, 4).
        start_filters: filters of the first block (32), doubled in each next one.
    """

    def __init__(self, n_classes: int, dim: int = 2, in_channels: int = 1, blocks: int = 4,
                 start_filters: int = 32) -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim: expected 2 or 3, got {dim!r}")
        filters = [start_filters * 2**i for i in range(blocks)]
        self.down = nn.ModuleList(_Twice(dim, c_in, c_out)
                                  for c_in, c_out in zip([in_channels, *filters], filters))
        self.pool = _POOL[dim](kernel_size=2, stride=2)
        self.up = nn.ModuleList(_Up(dim, c) for c in reversed(filters[1:]))
        self.head = _CONV[dim](filters[0], n_classes, kernel_size=1)
        for module in self.modules():
            if isinstance(module, (*_CONV.values(), *_UP.values())):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else self.pool(x))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(x, skip)
        return self.head(x)
