"""The divergence guard: a checkpoint is written only of a model that can still train.

A finite loss does not prove a model is sound: one step at an absurd learning rate
(``base_lr: 1e30``) leaves weights of magnitude ~6e28 while the loss of that step,
computed before the update, is still ~2. Such weights are finite, but the next forward
pass squares them (batch norm, normalised projections) and overflows float32. Before
every checkpoint :meth:`DivergenceGuard.check` therefore requires

* every parameter, buffer and optimiser-state tensor to be finite;
* the squared L2 norm of every parameter to be finite in float32 (``|w|`` below
  ~1.8e19), i.e. the model can still be evaluated;
* the latest loss not to be far above its running level: more than
  :data:`LOSS_JUMP` times the median of the losses seen at earlier checks.

A failed check raises :class:`~mtneuro.errors.TrainingError` *instead of* writing the
checkpoint, so the last checkpoint on disk is the last good one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from typing import Any

import torch

from mtneuro.errors import TrainingError

#: A loss more than this many times its running level (median at earlier checks) is
#: taken as divergence. Generous on purpose: BYOL-type losses are bounded (<= 4 per
#: term), so only a collapse of a well-trained model comes near it; it exists for the
#: unbounded losses (cross-entropy, mined losses that explode).
LOSS_JUMP = 100.0


def _tensors(value: Any, where: str) -> Iterator[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` for every floating-point tensor inside ``value``."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.is_complex():
            yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{where}[{i}]")


def first_unusable(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                   ) -> str | None:
    """A description of the first tensor that makes the state unusable, or ``None``.

    One host synchronisation for the whole model (the per-tensor verdicts are stacked).
    """
    named = list(_tensors(dict(model.state_dict(keep_vars=False)), ""))
    params = {name for name, _ in model.named_parameters()}
    if optimizer is not None:
        named += list(_tensors(optimizer.state_dict()["state"], "optimizer state"))
    if not named:
        return None
    with torch.no_grad():
        verdicts = torch.stack([
            torch.isfinite(_magnitude(t.detach()).square().sum()) if name in params
            else torch.isfinite(t.detach()).all()
            for name, t in named
        ]).cpu()
    if bool(verdicts.all()):
        return None
    name, tensor = named[int((~verdicts).nonzero()[0])]
    tensor = tensor.detach()
    if not bool(torch.isfinite(tensor).all()):
        return f"{name} holds non-finite values"
    return (f"{name} has magnitude {tensor.abs().max().item():.3g} (its squared norm "
            f"overflows float32)")


def _magnitude(tensor: torch.Tensor) -> torch.Tensor:
    """float32 magnitudes: a complex value's modulus (casting it would drop the imaginary
    part, and with it a non-finite or huge one)."""
    return (tensor.abs() if tensor.is_complex() else tensor).float()


class DivergenceGuard:
    """Checks a model before each checkpoint (see the module docstring)."""

    def __init__(self, loss_jump: float = LOSS_JUMP) -> None:
        self.loss_jump = loss_jump
        self.losses: list[float] = []

    def check(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
              loss: float, where: str, kept: Callable[[], str]) -> None:
        """Raise unless ``model`` (and ``optimizer``) may be checkpointed.

        Args:
            loss: the latest training loss (a plain float; NaN if none was read yet).
            where: when, for the message (e.g. ``"epoch 3 (step 12)"``).
            kept: describes the checkpoint that stays on disk.

        Raises:
            TrainingError: non-finite or overflowing state, or a loss jump; the
                checkpoint is not written.
        """
        problem = first_unusable(model, optimizer)
        if problem is None and math.isfinite(loss):
            if self.losses:
                level = statistics.median(self.losses)
                if level > 0 and loss > self.loss_jump * level:
                    problem = (f"loss {loss:.4g} is over {self.loss_jump:g} times its "
                               f"running level {level:.4g}")
            self.losses.append(loss)
        if problem is not None:
            raise TrainingError(f"training diverged at {where}: {problem}; this state was "
                                f"not saved, {kept()}; lower the learning rate and rerun "
                                "with --overwrite (--resume continues only with the settings "
                                "it started with)")
