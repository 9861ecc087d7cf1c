"""An mtneuro encoder plug-in: ``build()`` returns an ``nn.Module`` mapping (B, 1, H, W) -> (B, D).

Registered in ``pyproject.toml`` under the entry-point group ``mtneuro.encoders`` as
``example-small-cnn``; mtneuro finds it by that name once the package is installed.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TinyPatchEncoder", "build"]


class TinyPatchEncoder(nn.Module):
    """Non-overlapping 8x8 patch embedding, GELU, mean over patches: (B, 1, H, W) -> (B, dim)."""

    def __init__(self, dim: int = 32, patch: int = 8) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)
        self.out_dim = dim
        self.input_spec = {"spatial_dims": 2, "in_channels": 1, "size": 64}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)  # (B, patches, dim)
        return self.norm(nn.functional.gelu(tokens)).mean(dim=1)


def build() -> nn.Module:
    """Entry point named in ``pyproject.toml``; called by mtneuro with no arguments."""
    torch.manual_seed(0)
    return TinyPatchEncoder()
