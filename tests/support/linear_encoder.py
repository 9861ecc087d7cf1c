"""A linear stand-in encoder for tests of the SSL methods: every forward is a plain function
of its weights, with the ``out_dim`` attribute the methods read to size their heads."""

from __future__ import annotations

import torch
from torch import nn


class LinearEncoder(nn.Module):
    def __init__(self, in_dim: int = 5, out_dim: int = 6) -> None:
        super().__init__()
        self.lin = nn.Linear(in_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)
