"""Mutation audit of the image augmentations: the statistics a user relies on.

Statistical checks use a seeded generator and a tolerance of ``Z`` standard deviations of
the binomial / sample-mean law, so a correct implementation with another seed would fail
with probability below 1e-7; the mutants they target are off by many more deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from binomial import Z, near, seeded

from mtneuro.ssl.augment import (
    Compose,
    Normalize,
    RandomBrightnessContrast,
    RandomCrop,
    RandomDepthFlip,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRot90,
    RandomVerticalFlip,
    mtneuro_view,
)
from mtneuro.ssl.augment.functional import brightness_contrast


def _grid(n: int, h: int, w: int) -> torch.Tensor:
    """n copies of an image whose pixel (i, j) holds i * w + j: a value says where it was."""
    return torch.arange(float(h * w)).reshape(1, 1, h, w).repeat(n, 1, 1, 1)


def test_random_crop_offsets_are_uniform_over_every_position_and_independent() -> None:
    # 9 x 9 image, 5 x 5 crop: tops and lefts 0..4, each with probability 1/5, independent
    n, h, s = 3000, 9, 5
    y = RandomCrop(s)(_grid(n, h, h), seeded())
    top, left = y[:, 0, 0, 0].long() // h, y[:, 0, 0, 0].long() % h
    for offsets in (top, left):
        counts = torch.bincount(offsets, minlength=h - s + 1)
        assert len(counts) == h - s + 1
        assert all(near(c / n, 1 / 5, n) for c in counts.tolist()), counts.tolist()
    assert near((top == left).float().mean().item(), 1 / 5, n)  # not one draw for both


def test_random_crop_centre_is_floored_for_odd_margins() -> None:
    # margins 5 (H) and 7 (W): the (H - s) // 2 convention of RandomResizedCrop's fallback
    x = _grid(2, 9, 11)
    y = RandomCrop(4, p=0.0)(x, seeded())
    assert torch.equal(y, x[:, :, 2:6, 3:7])


def test_random_crop_of_the_whole_image_and_a_too_narrow_image() -> None:
    x = torch.rand(3, 2, 4, 8, 8)
    assert torch.equal(RandomCrop(8)(x, seeded()), x)
    with pytest.raises(ValueError, match="exceeds"):
        RandomCrop(6)(torch.rand(1, 1, 8, 4), seeded())


def test_resized_crop_never_draws_a_box_of_zero_width() -> None:
    # area 1 pixel at aspect 0.1: width round(0.32) = 0 (no draw fits), height round(3.2) = 3;
    # torchvision's fallback: the 10 x 10 image narrowed to aspect 0.1, i.e. width
    # round(10 * 0.1) = 1, height 10, centred: left (10 - 1) // 2 = 4
    crop = RandomResizedCrop(4, scale=(0.01, 0.01), ratio=(0.1, 0.1))
    boxes = crop.sample_boxes(32, 10, 10, torch.ones(32, dtype=torch.bool), seeded())
    assert boxes.tolist() == [[0, 4, 10, 1]] * 32


def test_resized_crop_top_and_left_are_independent() -> None:
    # 9 x 9 boxes in a 10 x 10 image: top and left each uniform on {0, 1}, independent
    n = 4000
    crop = RandomResizedCrop(4, scale=(0.81, 0.81), ratio=(1.0, 1.0))
    boxes = crop.sample_boxes(n, 10, 10, torch.ones(n, dtype=torch.bool), seeded())
    assert (boxes[:, 2:] == 9).all()
    top, left = boxes[:, 0], boxes[:, 1]
    assert near(top.float().mean().item(), 0.5, n) and near(left.float().mean().item(), 0.5, n)
    assert near((top == left).float().mean().item(), 0.5, n)


@pytest.mark.parametrize(
    "cls,axis", [(RandomHorizontalFlip, -1), (RandomVerticalFlip, -2), (RandomDepthFlip, -3)]
)
def test_flips_default_to_probability_one_half(cls: type, axis: int) -> None:
    n = 4000
    x = torch.arange(8.0).reshape(1, 1, 2, 2, 2).repeat(n, 1, 1, 1, 1)
    y = cls()(x, seeded())
    flipped = (y == x.flip(axis)).flatten(1).all(1)
    assert ((y == x).flatten(1).all(1) | flipped).all()
    assert near(flipped.float().mean().item(), 0.5, n)


def _factors(y: torch.Tensor, m: float, d: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightness and contrast factors of each sample of a two-pixel image (m - d, m + d):
    unclipped, either order gives fb * (fc * (x - m) + m)."""
    lo, hi = y[:, 0, 0, 0], y[:, 0, 0, 1]
    fb = (lo + hi) / (2 * m)
    return fb, (hi - lo) / (2 * d * fb)


def test_brightness_contrast_defaults_draw_independent_uniform_factors() -> None:
    # defaults: p 0.8, factors U[0.6, 1.4] each (ColorJitter(0.4, 0.4)); the 0.5 +- 0.1
    # image is never clipped with such factors, so the factors can be read back exactly
    n, m, d = 4000, 0.5, 0.1
    x = torch.tensor([m - d, m + d], dtype=torch.float64).reshape(1, 1, 1, 2).repeat(n, 1, 1, 1)
    y = RandomBrightnessContrast()(x, seeded())
    same = (y == x).flatten(1).all(1)
    assert near(same.float().mean().item(), 0.2, n)
    fb, fc = _factors(y[~same], m, d)
    k = fb.numel()
    for f in (fb, fc):
        assert f.min() >= 0.6 - 1e-6 and f.max() <= 1.4 + 1e-6
        assert f.min() < 0.62 and f.max() > 1.38  # the whole range is reached
        # uniform on [0.6, 1.4]: mean 1, sd 0.8 / sqrt(12)
        assert abs(f.mean().item() - 1.0) <= Z * 0.8 / math.sqrt(12 * k)
    r = torch.corrcoef(torch.stack([fb, fc]))[0, 1].item()
    assert abs(r) <= Z / math.sqrt(k)  # one draw per factor, not one shared


def test_brightness_contrast_takes_either_order_with_probability_one_half() -> None:
    # brightness 2 then contrast 0: clip(2 * {0.2, 0.8}) = {0.4, 1}, mean 0.7 everywhere;
    # contrast 0 then brightness 2: 2 * mean 0.5 = 1 everywhere
    n = 4000
    x = torch.tensor([0.2, 0.8]).reshape(1, 1, 1, 2).repeat(n, 1, 1, 1)
    t = RandomBrightnessContrast(brightness=(2.0, 2.0), contrast=(0.0, 0.0), p=1.0)
    y = t(x, seeded())[:, 0, 0]
    brightness_first = torch.isclose(y, torch.tensor(0.7)).all(1)
    contrast_first = (y == 1.0).all(1)
    assert (brightness_first ^ contrast_first).all()
    assert near(contrast_first.float().mean().item(), 0.5, n)


def test_contrast_centre_of_a_two_channel_image_is_the_mean_over_channels() -> None:
    # not 3 channels: the plain mean of the whole sample, (0.1 + 0.3 + 0.5 + 0.7) / 4 = 0.4
    x = torch.tensor([[[[0.1, 0.3]], [[0.5, 0.7]]]], dtype=torch.float64)
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    y = brightness_contrast(x, one, zero, torch.zeros(1, dtype=torch.bool))
    torch.testing.assert_close(y, torch.full_like(x, 0.4), atol=1e-12, rtol=0)


def test_blur_defaults_draw_one_uniform_sigma_per_sample_with_a_9_pixel_kernel() -> None:
    # On an impulse the blur is the kernel's outer product, so the ratio of the pixel next
    # to the centre to the centre is exp(-1 / (2 sigma^2)): each sample's sigma, read back.
    n, c = 4000, 5
    x = torch.zeros(n, 1, 2 * c + 1, 2 * c + 1, dtype=torch.float64)
    x[:, :, c, c] = 1.0
    y = RandomGaussianBlur()(x, seeded())[:, 0]
    blurred = y[:, c, c + 1] > 0  # sigma >= 0.1: exp(-50) ~ 2e-22, not 0 in float64
    assert ((y == x[:, 0]).flatten(1).all(1) | blurred).all()
    assert near(blurred.float().mean().item(), 0.5, n)  # default p
    yb = y[blurred]
    sigma = torch.sqrt(-1 / (2 * torch.log(yb[:, c, c + 1] / yb[:, c, c])))
    k = sigma.numel()
    assert sigma.min() >= 0.1 - 1e-6 and sigma.max() <= 2.0 + 1e-6
    assert sigma.min() < 0.15 and sigma.max() > 1.95
    assert abs(sigma.mean().item() - 1.05) <= Z * 1.9 / math.sqrt(12 * k)  # U[0.1, 2.0]
    # one sigma per sample: the sample sd of a uniform has relative sd sqrt(0.2 / k)
    assert abs(sigma.std().item() / (1.9 / math.sqrt(12)) - 1) <= Z * math.sqrt(0.2 / k)
    # a 9-pixel kernel reaches 4 pixels from the centre, never 5
    assert (yb[:, c, c + 4] > 0).any() and (y[:, c, c + 5] == 0).all()


def test_noise_defaults_std_and_probability() -> None:
    n = 4000
    y = RandomGaussianNoise()(torch.zeros(n, 1, 4, 4), seeded())
    noisy = (y != 0).flatten(1).any(1)
    assert near(noisy.float().mean().item(), 0.5, n)
    values = y[noisy].flatten()
    # sample sd of k normal values: relative sd 1 / sqrt(2 k)
    assert abs(values.std().item() / 0.05 - 1) <= Z / math.sqrt(2 * values.numel())


SPECS = [
    lambda p: RandomCrop(4, p=p),
    lambda p: RandomResizedCrop(4, p=p),
    lambda p: RandomHorizontalFlip(p=p),
    lambda p: RandomRot90(p=p),
    lambda p: RandomBrightnessContrast(p=p),
    lambda p: RandomGaussianBlur(p=p),
    lambda p: RandomGaussianNoise(p=p),
]


@pytest.mark.parametrize("make", SPECS)
def test_each_call_draws_the_same_randomness_whatever_p(make: Callable) -> None:
    # so a pipeline stays reproducible when a probability changes (module docstring)
    x = torch.rand(5, 1, 8, 8)
    states = []
    for p in (0.0, 1.0):
        g = seeded(3)
        make(p)(x, g)
        states.append(g.get_state())
    assert torch.equal(states[0], states[1])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("make", SPECS + [lambda p: Normalize(), lambda p: mtneuro_view(
    size=4, strong=True)])
def test_low_precision_images_keep_their_dtype(make: Callable, dtype: torch.dtype) -> None:
    x = torch.rand(4, 2, 8, 8).to(dtype)
    assert make(1.0)(x, seeded()).dtype == dtype


def test_normalize_per_channel_and_per_dtype() -> None:
    t = Normalize(mean=(0.5, 1.0), std=(0.25, 0.5))
    x = torch.tensor([1.0, 2.0, 0.0, 0.5]).reshape(2, 2, 1, 1)  # (B, C) = 2 x 2
    assert t(x).flatten().tolist() == [2.0, 2.0, -2.0, -1.0]
    block = x[:, :, None]  # (B, C, D, H, W): still per channel
    assert t(block).flatten().tolist() == [2.0, 2.0, -2.0, -1.0]
    assert t(x.half()).dtype == torch.float16  # not float32 statistics cached first


def test_a_passed_generator_overrides_the_own_seed() -> None:
    x = _grid(8, 12, 12)
    assert torch.equal(RandomCrop(4, seed=1)(x, seeded(5)), RandomCrop(4, seed=2)(x, seeded(5)))
    composed = [Compose([RandomCrop(4)], seed=s) for s in (1, 1, 2)]
    assert torch.equal(composed[0](x), composed[1](x))  # the own seed, when none is passed
    assert not torch.equal(composed[0](x), composed[2](x))
    assert torch.equal(composed[0](x, seeded(5)), composed[2](x, seeded(5)))


def test_mtneuro_view_crop_offsets_shared_only_when_asked() -> None:
    x = _grid(16, 20, 20)
    shared = mtneuro_view(size=4, same_on_batch=True, mean=0.0, std=1.0)(x, seeded())
    assert (shared[:, 0, 0, 0] == shared[0, 0, 0, 0]).all()
    own = mtneuro_view(size=4, mean=0.0, std=1.0)(x, seeded())
    assert len(set(own[:, 0, 0, 0].tolist())) > 1


def test_strong_view_adds_every_documented_step_before_normalising() -> None:
    steps = mtneuro_view(size=4, strong=True).transforms
    kinds = [type(t) for t in steps]
    assert kinds == [RandomCrop, RandomHorizontalFlip, RandomVerticalFlip, RandomRot90,
                     RandomBrightnessContrast, RandomGaussianBlur, RandomGaussianNoise, Normalize]
    # k uniform on {0, 1, 2, 3} for every sample (p < 1 would favour k = 0)
    assert steps[3].p == 1.0


@pytest.mark.parametrize("sigma", [(0.0, 0.0), (0.0, 1.0), (2.0, 0.5), (-1.0, -1.0)])
def test_blur_refuses_a_sigma_range_that_is_not_positive_and_ordered(sigma):
    # sigma 0 divided by zero (NaN images); a reversed or negative range was taken silently
    with pytest.raises(ValueError, match=r"RandomGaussianBlur sigma: expected 0 < min <= max"):
        RandomGaussianBlur(sigma=sigma, p=1.0)


@pytest.mark.parametrize("transform", [RandomCrop, RandomResizedCrop])
@pytest.mark.parametrize("size", [0, -4, 2.5])
def test_crops_refuse_a_size_below_one_pixel_or_fractional(transform, size):
    with pytest.raises(ValueError, match=rf"{transform.__name__} size: expected an int >= 1"):
        transform(size)


def test_every_registered_name_is_an_image_transform_class():
    # a helper placed under a decorator once took the name "random_crop" from RandomCrop
    from mtneuro.ssl.augment import AUGMENTATIONS
    from mtneuro.ssl.augment.images import ImageTransform

    for name in AUGMENTATIONS.list():
        built = AUGMENTATIONS.get(name)
        assert isinstance(built, type) and issubclass(built, ImageTransform), (name, built)
    assert AUGMENTATIONS.get("random_crop") is RandomCrop
    assert AUGMENTATIONS.get("random_resized_crop") is RandomResizedCrop
