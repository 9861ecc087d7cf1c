"""Optimisers for self-supervised training: SGD, LARS and AdamW with clean param groups.

Biases and normalisation parameters (every parameter with ``ndim <= 1``: biases,
BatchNorm/LayerNorm/GroupNorm affine weights, PReLU slopes) get no weight decay and no
LARS adaptation by default, as in BYOL (Grill et al. 2020) and the MYOW trainers'
``exclude_bias_and_bn``; MTNeuro's task-1 scripts turn that off
(``exclude_bias_and_norm=False``: every parameter decayed).

>>> from torch import nn
>>> from mtneuro.ssl.schedules import lars_lr
>>> method = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
>>> opt = build_optimizer("lars", method, lr=lars_lr(0.3, 256), weight_decay=5e-4)
>>> [group["weight_decay"] for group in opt.param_groups]   # biases and norms: none
[0.0005, 0.0]

:class:`TensorLRUpdate` performs the update of an SGD or LARS optimiser with the learning
rate read from a 0-dim device tensor (``torch.optim.SGD`` reads a tensor learning rate
back to the host, which a CUDA graph cannot capture).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice

OPTIMIZERS = ("sgd", "lars", "adamw")


def param_groups(model: nn.Module, weight_decay: float, *,
                 exclude_bias_and_norm: bool = True) -> list[dict[str, Any]]:
    """Split the trainable parameters of ``model`` into a decayed and an excluded group.

    Args:
        exclude_bias_and_norm: off, every parameter is in the decayed group.

    Returns:
        ``[{"params": weights, "weight_decay": weight_decay, "lars_exclude": False},
        {"params": biases_and_norms, "weight_decay": 0.0, "lars_exclude": True}]``
        (empty groups are dropped).
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if exclude_bias_and_norm and p.ndim <= 1 else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": float(weight_decay), "lars_exclude": False},
        {"params": no_decay, "weight_decay": 0.0, "lars_exclude": True},
    ]
    return [g for g in groups if g["params"]]


class LARS(torch.optim.Optimizer):
    """SGD with momentum and a layer-wise trust ratio (You et al. 2017, as in BYOL).

    For each parameter ``w`` with gradient ``g`` in a group without ``lars_exclude``::

        d = g + weight_decay * w
        d = d * eta * ||w|| / ||d||       (if both norms are > 0)
        buf = momentum * buf + d
        w = w - lr * buf

    Groups with ``lars_exclude=True`` skip the trust ratio (and normally have no decay).

    Args:
        params: parameters or param groups (see :func:`param_groups`).
        lr: learning rate.
        momentum: heavy-ball momentum.
        weight_decay: default L2 coefficient for groups that do not set one.
        eta: trust coefficient.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eta: float = 1e-3,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0 or eta <= 0:
            raise ValueError(
                f"LARS: expected lr, momentum, weight_decay >= 0 and eta > 0, got "
                f"lr={lr}, momentum={momentum}, weight_decay={weight_decay}, eta={eta}"
            )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "eta": eta,
            "lars_exclude": False,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """One LARS update of every parameter group (``closure``: re-evaluates the loss,
        as :meth:`torch.optim.Optimizer.step` takes it); returns that loss, or ``None``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:
                    continue
                d = (
                    w.grad.add(w, alpha=group["weight_decay"])
                    if group["weight_decay"]
                    else w.grad.clone()
                )
                if not group["lars_exclude"]:
                    w_norm, d_norm = torch.linalg.vector_norm(w), torch.linalg.vector_norm(d)
                    trust = torch.where(
                        (w_norm > 0) & (d_norm > 0),
                        group["eta"] * w_norm / d_norm,
                        torch.ones_like(w_norm),
                    )
                    d.mul_(trust)
                state = self.state[w]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(w)
                buf = state["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(d)
                w.add_(buf, alpha=-group["lr"])
        return loss


def static_update_support(optimizer: torch.optim.Optimizer) -> str | None:
    """None if :class:`TensorLRUpdate` can run ``optimizer``'s update, else why not."""
    if type(optimizer) not in (torch.optim.SGD, LARS):
        return (f"needs an SGD or LARS optimiser (got {type(optimizer).__name__}); "
                f"use optimizer 'sgd' or 'lars', or step 'eager'")
    for group in optimizer.param_groups:
        odd = {k: group.get(k) for k in ("nesterov", "maximize", "differentiable") if group.get(k)}
        if group.get("dampening", 0) != 0:
            odd["dampening"] = group["dampening"]
        if odd:
            return f"supports plain momentum SGD only, got {odd}"
    return None


class TensorLRUpdate:
    """The update of an SGD (momentum, weight decay) or :class:`LARS` optimiser with the
    learning rate a 0-dim tensor on the parameters' device.

    Per parameter group, foreach kernels over all its parameters: ``d = g + wd * w``,
    LARS trust ratio, ``buf = momentum * buf + d``, ``w -= lr * buf``. The momentum
    buffers are the optimiser's own ``state[p]["momentum_buffer"]`` (created as zeros,
    which gives SGD's first step ``buf = d`` exactly), so checkpoints, eager steps and
    this update interleave. Equal to ``optimizer.step()`` up to float rounding (``w -=
    lr * buf`` rounds the product; ``torch.optim`` may fuse it). The groups' weight decay,
    momentum and LARS settings are read once, at construction.

    Raises:
        ConfigError: an optimiser :func:`static_update_support` rejects.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        why_not = static_update_support(optimizer)
        if why_not is not None:
            raise ConfigError(f"optimizer: {why_not}")
        self.optimizer = optimizer
        lars = isinstance(optimizer, LARS)
        # Fixed now: the learning rate a trainer writes into param_groups each step must
        # not be read here (a compiled update would be re-specialised on it every step).
        self.groups = [(list(g["params"]), float(g["weight_decay"]), float(g["momentum"]),
                        lars and not g["lars_exclude"], float(g.get("eta", 0.0)))
                       for g in optimizer.param_groups]
        for params, _, momentum, _, _ in self.groups:
            if momentum:  # buffers made now, not inside the first compiled/captured update
                for p in params:
                    self._buffer(p)

    @torch.no_grad()
    def __call__(self, lr: torch.Tensor) -> None:
        """One update with learning rate ``lr`` (0-dim tensor); parameters without a
        gradient are skipped, as ``optimizer.step()`` skips them."""
        for group_params, wd, momentum, trust_ratio, eta in self.groups:
            params = [p for p in group_params if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            # A new list: the grads themselves are never modified (as in torch.optim).
            d = torch._foreach_add(grads, params, alpha=wd) if wd else [g.clone() for g in grads]
            if trust_ratio:
                _lars_scale(params, d, eta)
            if momentum:
                bufs = [self._buffer(p) for p in params]
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, d)
                d = bufs
            torch._foreach_sub_(params, torch._foreach_mul(d, lr))

    def _buffer(self, p: torch.Tensor) -> torch.Tensor:
        state = self.optimizer.state[p]
        if "momentum_buffer" not in state or state["momentum_buffer"] is None:
            state["momentum_buffer"] = torch.zeros_like(p)
        return state["momentum_buffer"]


def _lars_scale(params: list[torch.Tensor], d: list[torch.Tensor], eta: float) -> None:
    """``d *= eta ||w|| / ||d||`` per parameter (1 where a norm is 0), in place."""
    w_norm = torch.stack(torch._foreach_norm(params))
    d_norm = torch.stack(torch._foreach_norm(d))
    trust = torch.where((w_norm > 0) & (d_norm > 0), eta * w_norm / d_norm,
                        torch.ones_like(w_norm))
    torch._foreach_mul_(d, list(trust.unbind()))


def build_optimizer(
    name: str, model: nn.Module, lr: float, weight_decay: float, momentum: float = 0.9, *,
    exclude_bias_and_norm: bool = True,
) -> torch.optim.Optimizer:
    """``sgd`` (momentum), ``lars`` or ``adamw`` over :func:`param_groups` of ``model``.

    ``momentum`` is ignored by AdamW. Unknown names raise
    :class:`mtneuro.errors.ConfigError` listing the valid ones.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    groups = param_groups(model, weight_decay, exclude_bias_and_norm=exclude_bias_and_norm)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)
    if name == "lars":
        return LARS(groups, lr=lr, momentum=momentum)
    return torch.optim.AdamW(groups, lr=lr)
