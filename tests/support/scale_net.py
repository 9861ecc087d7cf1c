"""A stand-in 2D or 3D segmentation net for tests of what task 2 scores, not of the net."""

from __future__ import annotations

import torch


class ScaleNet(torch.nn.Module):
    """One weight per class times the image: logits ``(B, classes, [D,] H, W)``."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(-1, 1, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.view(1, -1, *([1] * (x.dim() - 2)))
