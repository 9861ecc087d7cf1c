"""MLP encoder for neural population vectors ``(B, N_neurons)`` (firing rates per bin).

Registered as ``mlp``. The MYOW monkey-reach setup (Azabou et al. 2021,
``nerdslab/myow-neuro``) is the default: ``[in_dim, 64, 64, 64] -> 64`` with
Linear + BatchNorm1d + ReLU per hidden layer and a plain Linear output layer
(the reference code uses PReLU; ``activation="prelu"`` selects it).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models.registry import ENCODERS
from mtneuro.registry import check_choice

ACTIVATIONS = ("relu", "prelu")


@ENCODERS.register("mlp")
class MLPEncoder(nn.Module):
    """Linear-BN-ReLU hidden layers, then a Linear output layer (MYOW monkey default
    ``[in, 64, 64, 64] -> 64``).

    Args:
        in_dim: number of input features (neurons).
        hidden: widths of the hidden layers.
        out_dim: representation size.
        batch_norm: BatchNorm1d after each hidden Linear.
        activation: ``"relu"`` or ``"prelu"`` (one learned slope per layer).

    Shapes:
        ``(B, in_dim)`` -> ``(B, out_dim)``.
    """

    def __init__(
        self,
        *,
        in_dim: int,
        hidden: tuple[int, ...] | list[int] = (64, 64, 64),
        out_dim: int = 64,
        batch_norm: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        widths = [in_dim, *hidden, out_dim]
        # a bool is an int to Python, but Linear(True, 64) is no layer anyone asked for
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ConfigError(
                f"mlp widths: expected positive ints, got in_dim={in_dim!r}, "
                f"hidden={list(hidden)!r}, out_dim={out_dim!r}"
            )
        check_choice("mlp activation", activation, ACTIVATIONS)
        self.in_dim = in_dim
        self.out_dim = out_dim
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths[:-1]):
            # The bias is redundant before BatchNorm.
            layers.append(nn.Linear(a, b, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU(inplace=True) if activation == "relu" else nn.PReLU(1))
        layers.append(nn.Linear(widths[-2], widths[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_dim)`` -> ``(B, out_dim)``."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"MLPEncoder expects (B, {self.in_dim}), got shape {tuple(x.shape)}")
        return self.net(x)
