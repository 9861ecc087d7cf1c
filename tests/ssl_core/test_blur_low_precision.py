"""A half-precision blur is the float32 blur rounded, not a blur with a half-precision kernel.

The kernel is built in float32 (as torchvision builds it) and only then cast to the
image's dtype. On a one-pixel impulse the blur returns the outer product of the kernel
with itself, so the result has three roundings of the dtype at most: each of the two
weights cast, then their product. A kernel computed in fp16 / bf16 (the sigma, the
exponentials and their sum all rounded) is several times further off.
"""

from __future__ import annotations

import pytest
import torch

from mtneuro.ssl.augment import RandomGaussianBlur


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_blur_is_the_float32_blur_within_its_rounding(dtype):
    impulse = torch.zeros(64, 1, 17, 17)
    impulse[:, :, 8, 8] = 1.0
    blur = RandomGaussianBlur(kernel_size=9, sigma=(0.1, 2.0), p=1.0)
    low = blur(impulse.to(dtype), torch.Generator().manual_seed(1))
    ref = blur(impulse, torch.Generator().manual_seed(1))  # the same sigmas, in float32
    assert low.dtype == dtype
    # weights in the dtype's normal range: below it, the rounding is not relative
    keep = ref > 1e-3
    # three roundings of at most eps / 2 each: (1 + eps / 2) ** 3 - 1, which the bound
    # below exceeds by enough to cover float32's own rounding of the reference
    eps = torch.finfo(dtype).eps
    relative = ((low.float() - ref).abs() / ref)[keep]
    assert relative.max().item() <= 1.5 * eps * (1 + eps) ** 2
