"""Mixup (Zhang et al. 2018, arXiv 1710.09412) for supervised training.

A batch is mixed with a permutation of itself: ``x' = lam * x + (1 - lam) * x[perm]``
and the one-hot targets with the same ``lam``; ``lam ~ Beta(alpha, alpha)`` once per
batch. The loss is the cross-entropy against the soft targets.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mtneuro.errors import ConfigError

#: Beta parameter of ``supervised-mixup`` unless a config gives another.
MIXUP_ALPHA = 0.2


def mixup_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    *,
    alpha: float = 1.0,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix a batch with a random permutation of itself.

    Args:
        x: ``(B, ...)`` float inputs.
        y: ``(B,)`` integer class labels.
        num_classes: number of classes of the one-hot targets.
        alpha: Beta distribution parameter (> 0); larger mixes more evenly.
        generator: CPU generator for ``lam`` and the permutation (reproducible).

    Returns:
        ``(x_mixed (B, ...), soft_targets (B, num_classes), lam)``.
    """
    if alpha <= 0:
        raise ConfigError(f"mixup.alpha: expected float > 0, got {alpha!r}")
    # torch's Beta sampler takes no generator: seed a numpy draw from the torch generator
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    one_hot = F.one_hot(y.long(), num_classes).to(x.dtype)
    x_mixed = lam * x + (1.0 - lam) * x[perm]
    y_mixed = lam * one_hot + (1.0 - lam) * one_hot[perm]
    return x_mixed, y_mixed, lam


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` ``(B, C)`` against probability ``targets`` ``(B, C)``."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
