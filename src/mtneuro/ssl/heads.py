"""Projection and prediction heads (BYOL / MYOW).

One class, :class:`MLPHead` (Linear - BatchNorm1d - ReLU - Linear, Grill et al. 2020).
:func:`make_head` returns ``nn.Identity`` when ``hidden_dim`` is 0 or None, as in the
MYOW monkey setup where the projector is the identity.
"""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.errors import ConfigError


class MLPHead(nn.Module):
    """Linear(in, hidden) - [BatchNorm1d] - ReLU - Linear(hidden, out).

    Args:
        in_dim: input features.
        hidden_dim: hidden width (4096 in BYOL's ImageNet / MTNeuro setup).
        out_dim: output features.
        batch_norm: BatchNorm1d after the first Linear.

    Shapes:
        ``(B, in_dim)`` -> ``(B, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, batch_norm: bool = True) -> None:
        super().__init__()
        for key, v in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"head {key}: expected int >= 1, got {v!r}")
        self.in_dim, self.hidden_dim, self.out_dim = in_dim, hidden_dim, out_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=not batch_norm),  # bias is redundant before BN
            nn.BatchNorm1d(hidden_dim) if batch_norm else nn.Identity(),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_dim)`` -> ``(B, out_dim)``."""
        return self.net(x)


def make_head(
    in_dim: int, hidden_dim: int | None, out_dim: int | None, batch_norm: bool = True
) -> tuple[nn.Module, int]:
    """An :class:`MLPHead`, or ``nn.Identity`` when ``hidden_dim`` is 0/None.

    Returns:
        ``(head, out_features)``; for the identity ``out_features == in_dim`` (``out_dim``
        is then ignored, so ``projector_hidden=0`` alone switches a projector off).
    """
    if not hidden_dim:
        return nn.Identity(), in_dim
    out = in_dim if out_dim is None else out_dim
    return MLPHead(in_dim, hidden_dim, out, batch_norm), out
