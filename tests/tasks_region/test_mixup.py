"""Mixup: a convex combination of inputs and of one-hot targets with one lambda."""

from __future__ import annotations

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.tasks.mixup import mixup_batch, soft_cross_entropy


def test_mixup_is_convex_combination_with_same_lambda():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 1, 5, 5, generator=torch.Generator().manual_seed(1))
    y = torch.arange(16) % 4
    xm, ym, lam = mixup_batch(x, y, 4, alpha=0.4, generator=gen)
    assert 0.0 <= lam <= 1.0
    one_hot = torch.nn.functional.one_hot(y, 4).float()
    for i in range(16):
        # find the partner j with xm[i] = lam x[i] + (1 - lam) x[j] (x is random, so j is unique)
        errors = (xm[i] - lam * x[i] - (1 - lam) * x).flatten(1).abs().amax(dim=1)
        j = int(errors.argmin())
        assert errors[j] < 1e-6
        assert torch.allclose(ym[i], lam * one_hot[i] + (1 - lam) * one_hot[j], atol=1e-6)
    assert torch.allclose(ym.sum(dim=1), torch.ones(16))


def test_mixup_is_reproducible_and_validates_alpha():
    x, y = torch.rand(8, 3), torch.arange(8) % 2
    a = mixup_batch(x, y, 2, alpha=1.0, generator=torch.Generator().manual_seed(3))
    b = mixup_batch(x, y, 2, alpha=1.0, generator=torch.Generator().manual_seed(3))
    assert a[2] == b[2] and torch.equal(a[0], b[0])
    with pytest.raises(ConfigError, match="alpha"):
        mixup_batch(x, y, 2, alpha=0.0, generator=torch.Generator())


def test_soft_cross_entropy_equals_hard_cross_entropy_on_one_hot_targets():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    soft = torch.nn.functional.one_hot(y, 3).float()
    assert torch.allclose(
        soft_cross_entropy(logits, soft), torch.nn.functional.cross_entropy(logits, y)
    )
