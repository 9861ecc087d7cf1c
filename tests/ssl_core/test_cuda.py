"""On CUDA (skipped without a GPU): augmentations, mining and MYOW match the CPU results."""

from __future__ import annotations

import pytest
import torch

from mtneuro.models import create_encoder
from mtneuro.ssl import MYOW, knn_mine
from mtneuro.ssl.augment import (
    Compose,
    RandomCrop,
    RandomGaussianBlur,
    RandomHorizontalFlip,
    RandomRot90,
    RandomVerticalFlip,
    mtneuro_view,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_exact_augmentations_match_cpu_with_a_cpu_generator():
    x = torch.rand(32, 1, 4, 40, 40)
    pipe = Compose([RandomCrop(24), RandomHorizontalFlip(), RandomVerticalFlip(), RandomRot90()])
    cpu = pipe(x, torch.Generator().manual_seed(0))
    gpu = pipe(x.cuda(), torch.Generator().manual_seed(0))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)


def test_cuda_generator_and_blur():
    x = torch.rand(16, 1, 64, 64, device="cuda")
    g = lambda: torch.Generator(device="cuda").manual_seed(1)
    view = mtneuro_view(size=32, strong=True)
    assert torch.equal(view(x, g()), view(x, g())) and view(x, g()).is_cuda
    blur = RandomGaussianBlur(p=1.0)
    assert torch.allclose(
        blur(x, torch.Generator().manual_seed(2)).cpu(),
        blur(x.cpu(), torch.Generator().manual_seed(2)),
        atol=1e-5,
    )


def test_knn_mine_matches_cpu():
    q, p = torch.randn(64, 16), torch.randn(100, 16)
    exclude = torch.rand(64, 100) < 0.2
    cpu = knn_mine(q, p, 3, exclude=exclude, generator=torch.Generator().manual_seed(0))
    gpu = knn_mine(
        q.cuda(), p.cuda(), 3, exclude=exclude.cuda(), generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(gpu.cpu(), cpu)


@pytest.mark.parametrize("layout", ["cascaded", "merged"])
def test_myow_step_bf16_channels_last(layout):
    torch.manual_seed(0)
    method = MYOW(create_encoder("resnet18"), layout=layout).cuda()
    method = method.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.01)
    x = torch.rand(8, 1, 64, 64, device="cuda").contiguous(memory_format=torch.channels_last)
    pool = torch.rand(8, 1, 64, 64, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = method(
            x,
            x.flip(-1),
            pool=pool,
            mined_weight=0.1,
            generator=torch.Generator(device="cuda").manual_seed(0),
        )
    out["loss"].backward()
    opt.step()
    method.update_target(0.99)
    assert torch.isfinite(out["loss"]) and out["mined_index"].is_cuda
