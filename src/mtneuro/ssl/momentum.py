"""Exponential moving average of the online network into the target network (BYOL).

:func:`update_momentum` takes the momentum as a Python float (eager steps);
:class:`TargetEMA` takes the weight ``1 - m`` as a 0-dim device tensor, so a step captured
in a CUDA graph or compiled reads each step's value instead of baking one in.
"""

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


class TargetEMA:
    """``target = target + w (online - target)`` over fixed (online, target) module pairs.

    The parameter lists are gathered once (not every step), and ``w = 1 - m`` is a 0-dim
    tensor on the parameters' device: no host synchronisation, nothing baked into a
    CUDA graph. Three foreach kernels (difference, scale, add); equal to
    :func:`update_momentum` up to float rounding (lerp rounds once, this twice).

    Args:
        pairs: ``method.ema_pairs()``.
    """

    def __init__(self, pairs: list[tuple[nn.Module, nn.Module]]) -> None:
        self.online: list[torch.Tensor] = []
        self.target: list[torch.Tensor] = []
        for online, target in pairs:
            o_params, t_params = list(online.parameters()), list(target.parameters())
            if len(o_params) != len(t_params):
                raise ValueError(f"TargetEMA: online has {len(o_params)} parameters, "
                                 f"target has {len(t_params)}")
            self.online += o_params
            self.target += t_params

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor) -> None:
        """One EMA step with ``weight`` = ``1 - m`` (0-dim tensor)."""
        if not self.target:
            return
        step = torch._foreach_sub(self.online, self.target)
        torch._foreach_mul_(step, weight)
        torch._foreach_add_(self.target, step)


def deactivate_requires_grad(module: nn.Module) -> nn.Module:
    """Set ``requires_grad = False`` on every parameter of ``module``; returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module
