"""One BYOL / MYOW optimisation step: the code every training driver runs.

The image trainer (:class:`mtneuro.ssl.trainer.Trainer`: epochs over a tensor of images,
resumable, distributed) and the neural-recording driver
(:func:`mtneuro.tasks.neural.train.train_ssl`: a stream of temporal-neighbour views) differ
only in where the two views come from and when they log. Both hand each step's views and
schedule values (``lr``, ``momentum``, ``mined_weight``; :mod:`mtneuro.ssl.schedules`) to
:func:`ssl_step`: learning rate set, the method's forward (mining included), backward,
optimiser step, EMA update of the target, in that order.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate to ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def backward_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                  scaler: torch.amp.GradScaler | None = None) -> None:
    """Gradients of ``loss`` and one optimiser step (through ``scaler`` for fp16)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def ssl_step(model: nn.Module, optimizer: torch.optim.Optimizer, view_a: torch.Tensor,
             view_b: torch.Tensor, values: Mapping[str, float], *,
             generator: torch.Generator | None, pool: torch.Tensor | None = None,
             exclude: torch.Tensor | None = None, method: nn.Module | None = None,
             amp_dtype: torch.dtype | None = None, scaler: torch.amp.GradScaler | None = None,
             fuse_target_views: bool = False, view_m: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:
    """One step of a BYOL / MYOW method on two views.

    Args:
        model: what is called (the method, or a DDP wrapper of it).
        view_a, view_b: the two views ``(B, ...)``.
        values: ``lr``, ``momentum`` (target EMA rate) and ``mined_weight`` of this step.
        generator: the method's randomness (MYOW's draw among the k nearest).
        pool, exclude: MYOW's candidate pool ``(P, ...)`` and forbidden pairs ``(B, P)``
            (``None``: mine in the batch, nothing excluded).
        method: the module whose target moves (default ``model``).
        amp_dtype: autocast dtype of the forward, or ``None`` (full precision).
        scaler: gradient scaler (fp16).
        fuse_target_views: see :meth:`mtneuro.ssl.byol.BYOL.byol_terms`.
        view_m: MYOW's own query view (:meth:`mtneuro.ssl.myow.MYOW.forward`), if any.

    Returns:
        The method's output (``loss`` with its graph freed, detached terms).
    """
    set_learning_rate(optimizer, values["lr"])
    with torch.autocast(view_a.device.type, dtype=amp_dtype or torch.float32,
                        enabled=amp_dtype is not None):
        extra = {} if view_m is None else {"view_m": view_m}  # BYOL takes no such view
        out = model(view_a, view_b, pool=pool, exclude=exclude,
                    mined_weight=values["mined_weight"], generator=generator,
                    fuse_target_views=fuse_target_views, **extra)
    backward_step(optimizer, out["loss"], scaler)
    (method if method is not None else model).update_target(values["momentum"])
    return out


def loss_terms(out: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The scalar loss terms of a step's output (keys ending in ``loss``), detached."""
    return {k: v.detach() for k, v in out.items() if k.endswith("loss") and v.dim() == 0}
