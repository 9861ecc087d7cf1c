"""Compose: foreign callables are called as t(x); non-callables are refused up front."""

from __future__ import annotations

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.ssl.augment import Compose, RandomHorizontalFlip


def test_plain_callable_is_called_without_the_generator() -> None:
    out = Compose([lambda x: x * 2, RandomHorizontalFlip(p=0.0)], seed=0)(torch.ones(1, 1, 2, 2))
    assert isinstance(out, torch.Tensor) and torch.equal(out, torch.full((1, 1, 2, 2), 2.0))


def test_torchvision_transform_returns_a_tensor() -> None:
    v2 = pytest.importorskip("torchvision.transforms.v2")
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    out = Compose([v2.RandomVerticalFlip(p=1.0)])(x)
    assert isinstance(out, torch.Tensor) and torch.equal(out, x.flip(-2))


def test_non_callable_is_refused_naming_its_index() -> None:
    expected = r"^Compose transforms\[1\]: expected a callable, got int 3$"
    with pytest.raises(ConfigError, match=expected):
        Compose([RandomHorizontalFlip(), 3])
