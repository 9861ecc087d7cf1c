"""The local sliding-window inference: bit-equal to MONAI's where MONAI is installed, known
answers without it, and task-2 inference on a built-in U-Net never imports MONAI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from mtneuro.tasks.segmentation.sliding_window import (
    importance_map,
    sliding_window_inference,
    window_starts,
)

# (input shape, window): overlapping windows, the last one moved back at the far edge (37 in
# 2D, every axis in 3D), and a window as large as the image.
CASES = [
    ((3, 1, 40, 37), (16, 24)),
    ((2, 1, 24, 24), (24, 24)),
    ((2, 1, 6, 20, 23), (4, 12, 8)),
]


def _net(dim: int, out: int) -> nn.Module:
    conv = nn.Conv2d if dim == 2 else nn.Conv3d
    torch.manual_seed(0)
    return nn.Sequential(conv(1, 3, 3, padding=1), nn.ReLU(), conv(3, out, 3, padding=1)).eval()


@pytest.mark.extra("seg")
@pytest.mark.parametrize("shape, window", CASES)
@pytest.mark.parametrize("mode", ["gaussian", "constant"])
@pytest.mark.parametrize("batch", [1, 4])
@torch.no_grad()
def test_equal_to_monai(shape, window, mode, batch):
    from monai.inferers import sliding_window_inference as monai_sliding_window

    net = _net(len(window), out=4)
    images = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    expected = monai_sliding_window(images, list(window), batch, net, overlap=0.25, mode=mode,
                                    progress=False)
    got = sliding_window_inference(images, window, batch, net, overlap=0.25, mode=mode)
    assert torch.equal(got, expected)


def test_windows_end_at_the_edge():
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(11, 4, 3) == [0, 3, 6, 7]  # the last one moved back to fit
    assert window_starts(8, 8, 8) == [0]


@pytest.mark.parametrize("shape, window", [*CASES, ((1, 1, 10, 12), (16, 16))])
@torch.no_grad()
def test_identity_gives_integer_images_back_under_the_plain_average(shape, window):
    """Each voxel is the sum of k copies of an integer, divided by k: exact in float. The
    last case pads the image to the window and crops the output back."""
    images = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(2)).float()
    got = sliding_window_inference(images, window, 3, lambda x: x, overlap=0.5, mode="constant")
    assert torch.equal(got, images)


@torch.no_grad()
def test_ones_give_ones_under_the_gaussian_blend():
    """Output and count add the same weights in the same order, so their ratio is exactly 1."""
    images = torch.rand(2, 1, 30, 41)
    got = sliding_window_inference(images, (16, 16), 4, lambda x: torch.ones_like(x).repeat(
        1, 2, 1, 1), overlap=0.25, mode="gaussian")
    assert got.shape == (2, 2, 30, 41) and torch.equal(got, torch.ones_like(got))


def test_windows_go_to_the_predictor_in_batches_across_images():
    sizes: list[int] = []

    def predictor(x: torch.Tensor) -> torch.Tensor:
        sizes.append(len(x))
        return x

    sliding_window_inference(torch.rand(3, 1, 16, 28), (16, 16), 4, predictor, overlap=0.25)
    assert sizes == [4, 2]  # 2 windows per image, 6 in all


def test_gaussian_weights_peak_at_the_centre_and_stay_positive():
    weights = importance_map((5, 7), "gaussian")
    assert weights.shape == (5, 7) and weights.argmax().item() == 2 * 7 + 3
    assert weights.min().item() > 0
    with pytest.raises(ValueError, match="mode"):
        importance_map((4, 4), "gauss")


PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from mtneuro.models import create_segmentation_model
    from mtneuro.tasks.segmentation.inference import evaluate_tiles
    import mtneuro.tasks.segmentation, mtneuro.cli.task2
    model = create_segmentation_model(sys.argv[1], n_classes=3)
    dim = 3 if "3d" in sys.argv[1] else 2
    shape = (1, 1, *(8,) * (dim - 2), 24, 24)
    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    scores, predictions = evaluate_tiles(model, images, np.zeros((1, *shape[2:]), np.int64), 3,
                                         shape[2:-2] + (16, 16))
    print(json.dumps([predictions.shape == shape[:1] + shape[2:],
                      sorted(m for m in ("monai", "sklearn") if m in sys.modules)]))
    """
)


@pytest.mark.parametrize("model", ["unet-mtneuro", "unet3d-mtneuro"])
def test_builtin_unet_inference_imports_no_monai(model):
    proc = subprocess.run([sys.executable, "-c", PROBE, model], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(proc.stdout.splitlines()[-1]) == [True, []]
