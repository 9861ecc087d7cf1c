"""Mutation audit of the neural augmentations: per-sample application probabilities, the
order of the steps, the wiring of NeuralAugment's parameters and temporal neighbours.

Statistical checks use a seeded generator and a tolerance of ``Z`` binomial standard
deviations (a correct implementation fails with probability below 1e-7 for another seed).
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from binomial import Z, near, seeded

from mtneuro.ssl.augment.neural import (
    NeuralAugment,
    gaussian_noise,
    pepper_noise,
    randomized_dropout,
    sample_temporal_neighbours,
    segment_bounds,
)
from mtneuro.tasks.neural.config import KIND_DEFAULTS


def _touched(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B,) 1.0 for each sample the transform changed, else 0.0."""
    return (out != x).any(dim=1).float()


def test_pepper_applies_to_each_sample_with_apply_p() -> None:
    # 50 neurons at p 0.3: a selected sample is left unchanged with probability 0.7 ** 50
    n, x = 4000, torch.zeros(4000, 50)
    out = pepper_noise(x, 0.3, 1.5, apply_p=0.25, generator=seeded())
    touched = _touched(out, x)
    assert near(touched.mean().item(), 0.25, n)
    hit = out[touched.bool()]
    assert set(hit.unique().tolist()) == {0.0, 1.5}
    assert near((hit > 0).float().mean().item(), 0.3, hit.numel())


def test_pepper_of_a_negative_constant_is_applied() -> None:
    x = torch.zeros(200, 100)
    out = pepper_noise(x, 0.3, -2.0, generator=seeded())
    assert set(out.unique().tolist()) == {0.0, -2.0}
    assert near((out < 0).float().mean().item(), 0.3, out.numel())


@pytest.mark.parametrize("std", [0.1, 3.0])
def test_noise_applies_to_each_sample_with_apply_p(std: float) -> None:
    n, x = 4000, torch.zeros(4000, 20)
    out = gaussian_noise(x, std, apply_p=0.2, generator=seeded())
    touched = _touched(out, x)
    assert near(touched.mean().item(), 0.2, n)
    values = out[touched.bool()].flatten()
    # sample sd of k normal values: relative sd 1 / sqrt(2 k)
    assert abs(values.std().item() / std - 1) <= Z / math.sqrt(2 * values.numel())


def _augment(**kw: object) -> NeuralAugment:
    """Every step off unless given; z-scoring the identity (mean 0, std 1) unless given."""
    off = {"dropout_p": 0.0, "pepper_p": 0.0, "pepper_c": 0.0, "noise_std": 0.0}
    stats = {"mean": torch.zeros(40), "std": torch.ones(40)}
    return NeuralAugment(**{**stats, **off, **kw})


@pytest.mark.parametrize("step,kw,p", [
    ("dropout", {"dropout_p": 0.8, "dropout_apply_p": 0.3}, 0.3),
    ("pepper", {"pepper_p": 0.5, "pepper_c": 1.0, "pepper_apply_p": 0.2}, 0.2),
    ("noise", {"noise_std": 1.0, "noise_apply_p": 0.7}, 0.7),
])
def test_neural_augment_passes_each_steps_own_apply_p(step: str, kw: dict, p: float) -> None:
    # the other apply_p are left at their defaults (1.0, 0.5, 0.5), unlike the one under test
    n, x = 4000, torch.ones(4000, 40)
    touched = _touched(_augment(**kw)(x, seeded()), x)
    if step == "dropout":  # a selected sample keeps all 40 neurons w.p. E[(1 - U[0, 0.8])^40]
        p *= 1 - (1 - 0.2 ** 41) / (41 * 0.8)
    elif step == "pepper":  # ... or misses all 40 at pepper p 0.5
        p *= 1 - 0.5 ** 40
    assert near(touched.mean().item(), p, n)


def test_neural_augment_drops_before_pepper_then_z_scores() -> None:
    # zeros, dropout up to 0.8 then pepper 0.3: dropout of a zero rate changes nothing, so a
    # neuron is peppered with probability 0.3 (pepper first, then dropout: 0.3 * 0.6 = 0.18)
    x = torch.zeros(500, 40)
    aug = _augment(dropout_p=0.8, pepper_p=0.3, pepper_c=1.0, pepper_apply_p=1.0)
    out = aug(x, seeded())
    assert near((out > 0).float().mean().item(), 0.3, out.numel())
    # dropout silences rates in Hz, before the z-scoring: 5 Hz at mean 5, std 2 -> 0 or -2.5
    z = _augment(dropout_p=0.8, mean=torch.full((40,), 5.0), std=torch.full((40,), 2.0))
    values = z(torch.full((500, 40), 5.0), seeded())
    assert set(values.unique().tolist()) == {0.0, -2.5}


def test_neural_augment_defaults_are_the_reach_config_defaults() -> None:
    # "Defaults are MYOW's monkey-reach values": the same numbers as the reach config's
    reach = KIND_DEFAULTS["reach"]
    params = inspect.signature(NeuralAugment).parameters
    for name in ("dropout_p", "dropout_apply_p", "pepper_p", "pepper_c", "pepper_apply_p",
                 "noise_std", "noise_apply_p"):
        assert params[name].default == reach[name], name


def test_temporal_neighbours_are_uniform_over_the_window() -> None:
    # one trial of 20 bins, k 2: a middle anchor's offsets -2..2 each w.p. 1/5; the first
    # bin's 0..2 each w.p. 1/3; the last bin's -2..0 each w.p. 1/3
    start, end = segment_bounds(torch.zeros(20, dtype=torch.long))
    n = 3000
    for anchor, offsets in ((10, range(-2, 3)), (0, range(3)), (19, range(-2, 1))):
        index = torch.full((n,), anchor)
        drawn = sample_temporal_neighbours(index, start, end, 2, generator=seeded(anchor)) - anchor
        for offset in offsets:
            share = (drawn == offset).float().mean().item()
            assert near(share, 1 / len(offsets), n), (anchor, offset, share)
        assert set(drawn.tolist()) <= set(offsets)


def test_dropout_that_cannot_drop_returns_its_input_as_documented():
    rates = torch.ones(3, 4)
    assert randomized_dropout(rates, 0.0) is rates
    assert randomized_dropout(rates, 0.5, apply_p=0.0) is rates
    dropped = randomized_dropout(rates, 0.5, generator=torch.Generator().manual_seed(0))
    assert dropped is not rates and torch.equal(rates, torch.ones(3, 4))
