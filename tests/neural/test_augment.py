"""Neural augmentations: per-sample dropout rate, noise, pepper, temporal neighbours."""

import pytest
import torch

from mtneuro.ssl.augment.neural import (
    NeuralAugment,
    gaussian_noise,
    pepper_noise,
    randomized_dropout,
    sample_temporal_neighbours,
    segment_bounds,
)


def test_dropout_rate_is_drawn_per_sample():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(400, 2000)
    out = randomized_dropout(x, 0.6, generator=g)
    rate = (out == 0).float().mean(dim=1)  # observed rate per sample
    assert rate.max() <= 0.6 + 0.05
    # rates spread over [0, 0.6] (uniform: mean 0.3, std 0.6 / sqrt(12) = 0.17), not one shared rate
    assert abs(rate.mean().item() - 0.3) < 0.03
    assert 0.13 < rate.std().item() < 0.21
    assert torch.all((out == 0) | (out == 1)) and x.min() == 1  # input untouched


def test_dropout_apply_p_zero_and_one():
    g = torch.Generator().manual_seed(1)
    x = torch.ones(300, 500)
    assert torch.equal(randomized_dropout(x, 0.5, apply_p=0.0, generator=g), x)
    some = randomized_dropout(x, 0.5, apply_p=0.5, generator=g)
    untouched = (some == 1).all(dim=1).float().mean().item()
    assert 0.4 < untouched < 0.6  # about half the samples are left alone


def test_pepper_adds_constant_to_a_fraction():
    g = torch.Generator().manual_seed(2)
    x = torch.zeros(200, 1000)
    out = pepper_noise(x, 0.3, 1.5, generator=g)
    assert set(out.unique().tolist()) == {0.0, 1.5}
    assert abs((out > 0).float().mean().item() - 0.3) < 0.01


def test_noise_std_and_apply_p():
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(2000, 200)
    out = gaussian_noise(x, 1.5, apply_p=0.5, generator=g)
    noisy = out.abs().sum(dim=1) > 0
    assert 0.45 < noisy.float().mean().item() < 0.55
    assert abs(out[noisy].std().item() - 1.5) < 0.02


def test_segment_bounds_known_answer():
    start, end = segment_bounds(torch.tensor([4, 4, 4, 7, 7, 1]))
    assert start.tolist() == [0, 0, 0, 3, 3, 5]
    assert end.tolist() == [3, 3, 3, 5, 5, 6]


def test_temporal_neighbours_stay_in_trial_and_window():
    g = torch.Generator().manual_seed(4)
    trial = torch.repeat_interleave(torch.arange(30), torch.randint(1, 9, (30,), generator=g))
    start, end = segment_bounds(trial)
    anchor = torch.arange(trial.numel()).repeat(200)
    k = 2
    other = sample_temporal_neighbours(anchor, start, end, k, generator=g)
    assert torch.all(trial[other] == trial[anchor])
    assert torch.all((other - anchor).abs() <= k)
    # every admissible offset is drawn: for a bin in the middle of a long trial all of -k..k
    long = int(torch.argmax(end - start))
    mid = int(start[long] + (end[long] - start[long]) // 2)
    if end[long] - start[long] >= 2 * k + 1:
        offsets = set((other[anchor == mid] - mid).tolist())
        assert offsets == set(range(-k, k + 1))


def test_neural_augment_ends_with_z_scores():
    g = torch.Generator().manual_seed(5)
    aug = NeuralAugment(mean=torch.full((3,), 2.0), std=torch.tensor([2.0, 0.0, 1.0]),
                        dropout_p=0.0, pepper_p=0.0, noise_std=0.0)
    out = aug(torch.tensor([[4.0, 5.0, 3.0]]), g)
    assert out.tolist() == [[1.0, 3.0, 1.0]]  # a zero std counts as 1


@pytest.mark.parametrize(("dtype", "atol"),
                         [(torch.float16, 0.01), (torch.bfloat16, 0.1), (torch.float64, 1e-6)])
def test_augmentations_return_the_dtype_they_are_given(dtype, atol):
    """Half-precision rates stay half precision: the draws are float32's and each transform
    rounds once (the whole chain rounds after each step: within a few units of its
    precision of the float32 chain)."""
    x = torch.poisson(torch.full((64, 20), 6.0), generator=torch.Generator().manual_seed(6))
    transforms = {
        "noise": lambda v, g: gaussian_noise(v, 1.5, apply_p=0.5, generator=g),
        "pepper": lambda v, g: pepper_noise(v, 0.3, 1.5, apply_p=0.5, generator=g),
        "dropout": lambda v, g: randomized_dropout(v, 0.2, generator=g),
        "augment": NeuralAugment(mean=x.mean(0), std=x.std(0)),
    }
    for name, transform in transforms.items():
        out = transform(x.to(dtype), torch.Generator().manual_seed(7))
        assert out.dtype == dtype, name
        reference = transform(x, torch.Generator().manual_seed(7)).to(dtype)
        if name != "augment" and dtype != torch.float64:
            assert torch.equal(out, reference), name
        torch.testing.assert_close(out.double(), reference.double(), rtol=0, atol=atol, msg=name)
