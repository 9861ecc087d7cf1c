"""Exponential moving average of the online network into the target network (BYOL)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, m: float) -> None:
    """In place, for every parameter: ``target = m * target + (1 - m) * online``.

    ``m = 0`` copies the online weights, ``m = 1`` leaves the target unchanged. Only
    parameters move; buffers (BatchNorm running statistics) stay the target's own,
    as in the BYOL and MYOW reference code.

    Args:
        online: the network being trained.
        target: a structural copy of ``online``.
        m: momentum in [0, 1].
    """
    if not 0.0 <= float(m) <= 1.0:
        raise ValueError(f"momentum m: expected float in [0, 1], got {m!r}")
    t_params = list(target.parameters())
    o_params = list(online.parameters())
    if len(t_params) != len(o_params):
        raise ValueError(
            f"update_momentum: online has {len(o_params)} parameters, target has {len(t_params)}"
        )
    if not t_params:
        return
    # lerp(t, o, w) = t + w (o - t) = (1 - w) t + w o with w = 1 - m; exact at w = 0 and 1.
    torch._foreach_lerp_(t_params, o_params, 1.0 - float(m))


def deactivate_requires_grad(module: nn.Module) -> nn.Module:
    """Set ``requires_grad = False`` on every parameter of ``module``; returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module
