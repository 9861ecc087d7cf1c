"""Image augmentations: shapes, determinism, exact permutations and identities."""

from __future__ import annotations

import pytest
import torch

from mtneuro.ssl.augment import (
    AUGMENTATIONS,
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

ALL = [
    lambda: RandomCrop(8),
    lambda: RandomResizedCrop(8),
    lambda: RandomHorizontalFlip(),
    lambda: RandomVerticalFlip(),
    lambda: RandomRot90(),
    lambda: RandomBrightnessContrast(p=1.0),
    lambda: RandomGaussianBlur(p=1.0),
    lambda: RandomGaussianNoise(p=1.0),
    lambda: Normalize(),
    lambda: mtneuro_view(size=8, strong=True),
]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(6, 1, 12, 12), (3, 2, 4, 12, 12)])
@pytest.mark.parametrize("make", ALL)
def test_shape_dtype_device_and_determinism(make, shape):
    x = torch.rand(shape, generator=_gen(99))
    t = make()
    a, b = t(x, _gen(3)), t(x, _gen(3))
    crop = isinstance(t, (RandomCrop, RandomResizedCrop, Compose))
    assert a.shape == (*shape[:-2], 8, 8) if crop else a.shape == shape
    assert a.dtype == x.dtype and a.device == x.device
    assert torch.equal(a, b)
    if not isinstance(t, Normalize):
        assert not torch.equal(a, t(x, _gen(4))) or not torch.equal(a, t(x, _gen(5)))


def test_owned_seed_is_reproducible():
    x = torch.rand(4, 1, 10, 10)
    assert torch.equal(RandomCrop(5, seed=1)(x), RandomCrop(5, seed=1)(x))


@pytest.mark.parametrize(
    "cls,axis", [(RandomHorizontalFlip, -1), (RandomVerticalFlip, -2), (RandomDepthFlip, -3)]
)
def test_flips_are_exact_per_sample(cls, axis):
    x = torch.rand(64, 1, 4, 5, 5)
    y = cls()(x, _gen())
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(axis)).flatten(1).all(1)
    assert (same | flipped).all() and 10 < flipped.sum() < 54


def test_rot90_is_an_exact_rotation_and_uses_all_four():
    x = torch.rand(80, 2, 6, 6)
    y = RandomRot90()(x, _gen())
    matches = torch.stack(
        [(y == torch.rot90(x, k, dims=(-2, -1))).flatten(1).all(1) for k in range(4)], dim=1
    )
    assert matches.any(dim=1).all()
    assert matches.sum(0).min() > 5  # each of k = 0..3 occurs
    assert torch.equal(RandomRot90(p=0.0)(x, _gen()), x)


def test_random_crop_copies_exact_windows():
    x = torch.arange(4 * 10 * 10, dtype=torch.float32).reshape(4, 1, 10, 10)
    y = RandomCrop(4)(x, _gen())
    for i in range(4):  # a check of the result, not of the implementation
        top, left = divmod(int(y[i, 0, 0, 0]) - i * 100, 10)
        assert torch.equal(y[i], x[i, :, top : top + 4, left : left + 4])
    same = RandomCrop(4, same_on_batch=True)(x, _gen())
    assert len({int(v) % 100 for v in same[:, 0, 0, 0]}) == 1
    centre = RandomCrop(4, p=0.0)(x, _gen())
    assert torch.equal(centre, x[:, :, 3:7, 3:7])


def test_resized_crop_without_box_is_identity_and_keeps_depth():
    x = torch.rand(3, 1, 5, 9, 9)
    assert torch.allclose(RandomResizedCrop(9, p=0.0)(x, _gen()), x, atol=1e-5)
    y = RandomResizedCrop(4, scale=(0.2, 0.5))(x, _gen())
    # Depth is untouched: slice 0 of the output depends on slice 0 of the input only.
    x2 = x.clone()
    x2[:, :, 1:] = 0
    y2 = RandomResizedCrop(4, scale=(0.2, 0.5))(x2, _gen())
    assert torch.allclose(y[:, :, 0], y2[:, :, 0], atol=1e-6)


def test_blur_identity_when_off_and_preserves_constants():
    x = torch.rand(4, 1, 12, 12)
    assert torch.equal(RandomGaussianBlur(p=0.0)(x, _gen()), x)
    const = torch.full((4, 1, 12, 12), 0.3)
    assert torch.allclose(RandomGaussianBlur(p=1.0)(const, _gen()), const, atol=1e-6)
    blurred = RandomGaussianBlur(p=1.0, sigma=(2.0, 2.0))(x, _gen())
    assert blurred.std() < x.std()


def test_intensity_transforms():
    x = torch.rand(8, 1, 6, 6)
    assert torch.equal(RandomBrightnessContrast(p=0.0)(x, _gen()), x)
    assert torch.equal(RandomGaussianNoise(p=0.0)(x, _gen()), x)
    noisy = RandomGaussianNoise(std=0.1, p=1.0)(torch.zeros(16, 1, 32, 32), _gen())
    assert noisy.std().item() == pytest.approx(0.1, rel=0.05)
    y = Normalize(mean=0.5, std=0.25)(torch.full((1, 1, 2, 2), 1.0))
    assert torch.equal(y, torch.full((1, 1, 2, 2), 2.0))


def test_mtneuro_view_matches_protocol():
    # Distinct intensities in [0, 1) so that a value locates its pixel.
    x = (
        (torch.arange(256 * 256, dtype=torch.float64) / 65536)
        .reshape(1, 1, 256, 256)
        .repeat(2, 1, 1, 1)
    )
    y = mtneuro_view()(x, _gen())
    assert y.shape == (2, 1, 128, 128)
    raw = y * 0.1238 + 0.4894  # undo the normalisation: an exact 128 crop remains
    for i in range(2):
        top, left = divmod(round(raw[i, 0, 0, 0].item() * 65536), 256)
        assert torch.allclose(raw[i], x[i, :, top : top + 128, left : left + 128], atol=1e-9)


def test_registry_and_bad_parameters():
    assert {"random_crop", "rot90", "gaussian_blur", "normalize"} <= set(AUGMENTATIONS.list())
    with pytest.raises(ValueError, match="1.5"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match="exceeds"):
        RandomCrop(20)(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"needs \(B, C, D, H, W\)"):
        RandomDepthFlip()(torch.rand(2, 1, 4, 4))
    with pytest.raises(ValueError, match="square"):
        RandomRot90()(torch.rand(1, 1, 8, 6))


@pytest.mark.parametrize("area,step", [(0.25, 1.0), (1 / 16, 0.5)])
def test_resized_crop_samples_the_box_at_the_right_scale(area, step):
    # On a ramp x[..., i, j] = j, bilinear sampling is exact: a box of side sqrt(area) * 16
    # resized to 8 pixels advances sqrt(area) * 16 / 8 input pixels per output pixel (inside
    # the box: an enlarged box's edge pixels repeat its edge, as torchvision's resize does).
    ramp = torch.arange(16.0).expand(6, 1, 16, 16)
    y = RandomResizedCrop(8, scale=(area, area), ratio=(1.0, 1.0))(ramp, _gen())
    inner = y.diff(dim=-1)[..., 1:-1]
    assert torch.allclose(inner, torch.full_like(inner, step), atol=1e-4)
    assert torch.allclose(y.diff(dim=-2), torch.zeros_like(y.diff(dim=-2)), atol=1e-4)
    assert len({round(v, 3) for v in y[:, 0, 0, 0].tolist()}) > 1  # boxes differ per sample


@pytest.mark.parametrize("ratio", [(3 / 4, 4 / 3), (2.0, 2.0)])
def test_resized_crop_boxes_keep_their_aspect_ratio_in_range_and_stay_inside(ratio):
    # an image of its own pixel coordinates: a pixel's value says where it came from
    height, width, side, n = 60, 90, 16, 2000
    rows, cols = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5,
                                indexing="ij")
    image = torch.stack([cols, rows])[None].repeat(n, 1, 1, 1).double()
    t = RandomResizedCrop(side, ratio=ratio)
    g = _gen()
    mask = torch.rand(n, generator=g) < 1.0  # the draw that ImageTransform.__call__ makes first
    boxes = t.sample_boxes(n, height, width, mask, g).double()
    top, left, box_h, box_w = boxes.unbind(1)
    # integer sides rounded from an aspect in range (torchvision's): some aspect in range
    # rounds to them, i.e. (w +- 0.5) / (h -+ 0.5) brackets the range
    assert ((box_w + 0.5) / (box_h - 0.5) >= ratio[0] - 1e-9).all()
    assert ((box_w - 0.5) / (box_h + 0.5) <= ratio[1] + 1e-9).all()
    out = t(image, _gen())  # every output pixel comes from inside its box
    assert (out[:, 0] >= left[:, None, None] + 0.5 - 1e-6).all()
    assert (out[:, 0] <= (left + box_w)[:, None, None] - 0.5 + 1e-6).all()
    assert (out[:, 1] >= top[:, None, None] + 0.5 - 1e-6).all()
    assert (out[:, 1] <= (top + box_h)[:, None, None] - 0.5 + 1e-6).all()
