"""Known-answer walk-through of the SSL pieces: integer images are refused by the transforms
that compute with pixel values (a uint8 blur came out black, uint8 noise wrapped and was never
negative), a noise / normalisation scale that cannot be one is refused when the transform is
built, ``myow-merged`` names the cascaded-only arguments it would ignore, and ``knn_mine``
names a ``k`` that is no int."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError, DataError
from mtneuro.models import create_encoder
from mtneuro.ssl import create_method
from mtneuro.ssl.augment import (
    Normalize,
    RandomBrightnessContrast,
    RandomCrop,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomResizedCrop,
    mtneuro_view,
)
from mtneuro.ssl.miner import knn_mine

HEADS = {"projector_hidden": 8, "projector_out": 4, "predictor_hidden": 8}
VALUE_TRANSFORMS = {
    "RandomGaussianBlur": lambda: RandomGaussianBlur(p=1.0, seed=0),
    "RandomGaussianNoise": lambda: RandomGaussianNoise(p=1.0, seed=0),
    "RandomBrightnessContrast": lambda: RandomBrightnessContrast(p=1.0, seed=0),
    "Normalize": lambda: Normalize(),
    "RandomResizedCrop": lambda: RandomResizedCrop(4, seed=0),
}


@pytest.mark.parametrize("name", list(VALUE_TRANSFORMS))
def test_uint8_images_are_refused_with_the_conversion(name: str) -> None:
    # was: blur -> all zeros (a uint8 kernel), noise in 0..12 only, normalise -> inf
    x = torch.full((1, 1, 8, 8), 100, dtype=torch.uint8)
    expected = (f"^{name} expects floating-point images, got dtype uint8 "
                r"\(scale them to float in \[0, 1\] first: x.float\(\) / 255\)$")
    with pytest.raises(DataError, match=expected):
        VALUE_TRANSFORMS[name]()(x)
    assert VALUE_TRANSFORMS[name]()(x.float() / 255).dtype == torch.float32  # the fix works


def test_other_integer_images_are_refused_but_crops_take_any_dtype() -> None:
    x = torch.zeros((2, 1, 8, 8), dtype=torch.int64)
    with pytest.raises(DataError, match=r"got dtype int64 \(scale them to float in \[0, 1\] "
                                        r"first\)$"):
        RandomGaussianNoise(p=1.0)(x)
    assert torch.equal(RandomCrop(8)(x), x)  # exact pixels, no arithmetic on them
    view = mtneuro_view(size=4, strong=True)  # the trainer's path: float images
    out = view(x.float() / 255, torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 4, 4) and out.dtype == torch.float32


@pytest.mark.parametrize("std", [-1, -0.05, float("nan"), float("inf")])
def test_a_noise_std_that_is_no_scale_is_refused(std: float) -> None:
    with pytest.raises(ConfigError, match=rf"^RandomGaussianNoise std: expected a finite float "
                                          rf">= 0, got {std!r}$"):
        RandomGaussianNoise(std=std)
    x = torch.rand(2, 1, 4, 4)
    assert torch.equal(RandomGaussianNoise(std=0, p=1.0)(x), x)  # no noise is a scale


@pytest.mark.parametrize("std", [0, 0.0, [1.0, 0.0], -0.2, float("inf")])
def test_a_normalise_std_that_divides_by_zero_is_refused(std: object) -> None:
    # was: Normalize(std=0) made every pixel inf
    with pytest.raises(ConfigError, match=rf"^Normalize std: expected finite floats > 0, got "
                                          rf"{re.escape(repr(std))}$"):
        Normalize(std=std)
    x = torch.rand(2, 2, 4, 4)
    assert torch.allclose(Normalize(mean=[0.0, 1.0], std=[1.0, 2.0])(x)[:, 1], (x[:, 1] - 1) / 2)


def _encoder() -> nn.Module:
    torch.manual_seed(0)
    return create_encoder("resnet-tiny", widths=(4, 8))


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"mined_out": 8}, "mined_out=8"),
    ({"mined_projector_hidden": 16, "mined_predictor_hidden": 32},
     "mined_projector_hidden=16, mined_predictor_hidden=32"),
    ({"projector_m": nn.Linear(4, 4), "predictor_m": nn.Identity()},
     "projector_m=<Linear>, predictor_m=<Identity>"),
])
def test_merged_names_the_cascaded_arguments_it_would_ignore(kwargs: dict, named: str) -> None:
    # was: built, the arguments silently dropped
    them = "it" if len(kwargs) == 1 else "them"
    message = (f"ssl method 'myow-merged': does not use {named} (only 'myow', the cascaded "
               f"layout, has a second projector / predictor); leave {them} out")
    with pytest.raises(ConfigError) as info:
        create_method("myow-merged", _encoder(), **HEADS, **kwargs)
    assert str(info.value) == message
    # the defaults, as a config that carries every field passes them, are still taken
    merged = create_method("myow-merged", _encoder(), **HEADS, mined_out=256,
                           mined_projector_hidden=4096, mined_predictor_hidden=None)
    assert merged.layout == "merged" and merged.predictor_m is None
    assert create_method("myow", _encoder(), **HEADS, **kwargs).online_projector_m is not None


@pytest.mark.parametrize("k", [1.5, True, 0, "2"])
def test_knn_mine_names_a_k_that_is_no_positive_int(k: object) -> None:
    # was: TypeError from torch's topk for 1.5 and True (True counted as k=1)
    query, pool = torch.randn(3, 4), torch.randn(5, 4)
    with pytest.raises(ConfigError, match=rf"^k: expected int >= 1, got {k!r}$"):
        knn_mine(query, pool, k)
    # documented: a k above the pool size draws among the candidates there are
    index = knn_mine(query, pool, 9, generator=torch.Generator().manual_seed(0))
    assert index.shape == (3,) and int(index.max()) < 5
