"""Image augmentations agree with torchvision.transforms.v2 on the same parameters.

Brightness / contrast (ColorJitter: a clip to [0, 1] after each step, contrast around the
grayscale mean, random order), the resized crop (boxes drawn as torchvision draws them,
resampled as ``resized_crop(antialias=False)``) and the Gaussian blur, sample by sample.
"""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from mtneuro.ssl.augment import RandomBrightnessContrast, RandomGaussianBlur, RandomResizedCrop
from mtneuro.ssl.augment.functional import brightness_contrast, resized_crop


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _jitter(image: torch.Tensor, fb: float, fc: float, contrast_first: bool) -> torch.Tensor:
    """torchvision's two ColorJitter steps, in the given order."""
    if contrast_first:
        return TF.adjust_brightness(TF.adjust_contrast(image, fc), fb)
    return TF.adjust_contrast(TF.adjust_brightness(image, fb), fc)


@pytest.mark.parametrize("channels", [1, 3])
def test_brightness_contrast_equals_torchvision_per_sample(channels):
    g = _gen(1)
    x = torch.rand(16, channels, 9, 11, generator=g, dtype=torch.float64)
    fb = 0.2 + 1.6 * torch.rand(16, generator=g, dtype=torch.float64)
    fc = 0.2 + 1.6 * torch.rand(16, generator=g, dtype=torch.float64)
    first = torch.arange(16) % 2 == 0
    assert ((fb[:, None, None, None] * x) > 1).any()  # the clip between the steps matters
    y = brightness_contrast(x, fb, fc, first)
    for i in range(16):  # the reference, one sample at a time
        ref = _jitter(x[i], fb[i].item(), fc[i].item(), bool(first[i]))
        torch.testing.assert_close(y[i], ref, atol=1e-12, rtol=0)


def test_random_brightness_contrast_is_colorjitter_in_a_random_order():
    # fixed factors, as ColorJitter(brightness=(1.5, 1.5), contrast=(0.5, 0.5)) draws them
    x = torch.rand(64, 1, 8, 8, generator=_gen(2))
    y = RandomBrightnessContrast(brightness=(1.5, 1.5), contrast=(0.5, 0.5), p=1.0)(x, _gen())
    orders = torch.tensor([[torch.allclose(y[i], _jitter(x[i], 1.5, 0.5, first), atol=1e-6)
                            for first in (False, True)] for i in range(64)])
    assert orders.any(dim=1).all()
    assert orders[:, 0].sum() > 15 and orders[:, 1].sum() > 15  # both orders occur


def test_brightness_contrast_factor_ranges_are_colorjitters():
    # brightness b > 1: factors in [max(0, 1 - b), 1 + b], never negative
    half = torch.full((512, 1, 2, 2), 0.5)
    y = RandomBrightnessContrast(brightness=1.5, contrast=0.0, clamp=False, p=1.0)(half, _gen())
    factors = y[:, 0, 0, 0] / 0.5
    assert factors.min() >= 0 and factors.min() < 0.1 and factors.max() > 2.3
    assert factors.max() <= 2.5
    for bad in (-0.1, (1.2, 0.8), (-0.5, 1.0)):
        with pytest.raises(ValueError, match="brightness"):
            RandomBrightnessContrast(brightness=bad)


def test_brightness_contrast_blocks_use_one_mean_per_sample_and_skip_unselected():
    x = torch.rand(8, 1, 3, 6, 6, generator=_gen(3), dtype=torch.float64)
    fb, fc = torch.full((8,), 1.0, dtype=torch.float64), torch.full((8,), 0.0, dtype=torch.float64)
    flat = brightness_contrast(x, fb, fc, torch.zeros(8, dtype=torch.bool))
    # contrast 0 leaves the block's mean everywhere: one mean over depth, height and width
    torch.testing.assert_close(flat, x.mean(dim=(1, 2, 3, 4), keepdim=True).expand_as(x))
    over = torch.full((4, 1, 4, 4), 1.5)  # outside [0, 1]: a sample that p leaves out keeps it
    assert torch.equal(RandomBrightnessContrast(p=0.0)(over, _gen()), over)


@pytest.mark.parametrize("shape", [(6, 2, 20, 30), (3, 1, 4, 20, 30)])
def test_resized_crop_equals_torchvision_without_antialias(shape):
    g = _gen(4)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    # boxes smaller and larger than the output, thin ones, one pixel, the whole image
    boxes = torch.tensor([[0, 0, 20, 30], [3, 5, 7, 4], [19, 29, 1, 1], [2, 1, 18, 25],
                          [10, 0, 5, 30], [0, 12, 20, 3]])[: shape[0]]
    y = resized_crop(x, boxes, 12)
    assert y.shape == (*shape[:-2], 12, 12)
    for i, (top, left, h, w) in enumerate(boxes.tolist()):
        ref = TF.resized_crop(x[i], top, left, h, w, [12, 12], antialias=False)
        torch.testing.assert_close(y[i], ref, atol=1e-9, rtol=0)


def test_random_resized_crop_resamples_the_boxes_it_draws():
    x = torch.rand(32, 1, 24, 40, generator=_gen(5))
    t = RandomResizedCrop(16, scale=(0.1, 0.9), p=0.7)
    g = _gen(6)
    mask = torch.rand(32, generator=g) < 0.7  # what ImageTransform.__call__ draws first
    boxes = t.sample_boxes(32, 24, 40, mask, g)
    assert torch.equal(boxes[~mask], torch.tensor([[0, 0, 24, 40]]).expand(int((~mask).sum()), 4))
    assert torch.equal(t(x, _gen(6)), resized_crop(x, boxes, 16))


def _torchvision_boxes(n, height, width, scale, ratio):
    torch.manual_seed(0)
    crop = v2.RandomResizedCrop(8, scale=scale, ratio=ratio)
    image = torch.zeros(1, height, width)
    rows = [crop.make_params([image]) for _ in range(n)]
    return torch.tensor([[r["top"], r["left"], r["height"], r["width"]] for r in rows])


@pytest.mark.parametrize("height,width,scale,ratio", [
    (60, 90, (0.08, 1.0), (3 / 4, 4 / 3)),  # torchvision's defaults on a wide image
    (32, 32, (0.8, 1.0), (3 / 4, 4 / 3)),   # MYOW's mined CIFAR view (cifar-train.py)
    (60, 90, (0.5, 1.0), (2.0, 2.0)),       # often no draw fits: the centred fallback
])
def test_resized_crop_boxes_follow_torchvisions_distribution(height, width, scale, ratio):
    n = 3000
    ours = RandomResizedCrop(8, scale=scale, ratio=ratio).sample_boxes(
        n, height, width, torch.ones(n, dtype=torch.bool), _gen(7)).double()
    ref = _torchvision_boxes(n, height, width, scale, ratio).double()
    top, left, h, w = ours.unbind(1)
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= height).all() and (left + w <= width).all() and (h >= 1).all()
    area = h * w / (height * width)
    ref_area = ref[:, 2] * ref[:, 3] / (height * width)
    # areas stay in range up to the rounding of the sides (a shrunk box went below it)
    assert area.min() >= min(scale[0] - 0.03, ref_area.min())
    assert area.mean() == pytest.approx(ref_area.mean().item(), abs=0.015)
    aspect, ref_aspect = w / h, ref[:, 3] / ref[:, 2]
    assert aspect.mean() == pytest.approx(ref_aspect.mean().item(), abs=0.02)
    centre = (left + w / 2) / width
    assert centre.mean() == pytest.approx(0.5, abs=0.02)


def test_resized_crop_rejects_bad_ranges():
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(8, scale=(0.9, 0.1))
    with pytest.raises(ValueError, match="ratio"):
        RandomResizedCrop(8, ratio=(0.0, 1.0))


@pytest.mark.parametrize("shape", [(4, 1, 16, 20), (4, 3, 16, 20), (2, 1, 3, 16, 20)])
@pytest.mark.parametrize("kernel_size,sigma", [(9, 0.7), (5, 2.0)])
def test_gaussian_blur_equals_torchvision(shape, kernel_size, sigma):
    x = torch.rand(shape, generator=_gen(8), dtype=torch.float64)
    blur = RandomGaussianBlur(kernel_size=kernel_size, sigma=(sigma, sigma), p=1.0)
    y = blur(x, _gen())
    # torchvision blurs each (H, W) plane of a (..., C, H, W) tensor; a block is C * D planes
    ref = TF.gaussian_blur(x.reshape(-1, 1, *shape[-2:]), [kernel_size] * 2, [sigma, sigma])
    torch.testing.assert_close(y, ref.reshape(shape), atol=1e-12, rtol=0)
