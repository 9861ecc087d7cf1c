"""Task-2 sliding-window inference on cases whose answers are known by hand (mutation audit):
window placement for a given overlap, the two blends, the input scale and the eval mode."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mtneuro.tasks.segmentation.inference import (
    predict_tiles,
    sliding_window_logits,
)


def _columns(height: int, width: int) -> torch.Tensor:
    """``(1, 1, height, width)`` image whose every pixel holds its column index."""
    return torch.arange(width, dtype=torch.float32).expand(1, 1, height, width).clone()


def _window_starts(overlap: float) -> list[int]:
    """Columns where the windows (8 x 8) over a 8 x 20 image start, read from their inputs."""
    starts: list[int] = []

    def record(x: torch.Tensor) -> torch.Tensor:
        starts.extend(int(v) for v in x[:, 0, 0, 0])
        return x.clone()  # MONAI weights the output in place: never hand back the input

    sliding_window_logits(record, _columns(8, 20), (8, 8), overlap=overlap, window_batch=1)
    return sorted(starts)


def test_windows_step_by_the_window_times_one_minus_overlap():
    # step int(8 * (1 - overlap)), the last window flush with the image's right edge (20 - 8)
    assert _window_starts(0.5) == [0, 4, 8, 12]
    assert _window_starts(0.25) == [0, 6, 12]
    assert _window_starts(0.0) == [0, 8, 12]


def _two_window_blend(blend: str) -> torch.Tensor:
    """Blend over an 8 x 12 image of two 8 x 8 windows (columns 0-7 and 4-11), each
    predicting its start column everywhere: 0 and 4."""

    def start_column(x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :1, :1].expand_as(x).clone()

    return sliding_window_logits(start_column, _columns(8, 12), (8, 8), overlap=0.5,
                                 blend=blend)[0, 0]


def test_constant_blend_averages_the_overlapping_windows():
    out = _two_window_blend("constant")
    expected = torch.tensor([0.0] * 4 + [2.0] * 4 + [4.0] * 4).expand(8, 12)
    torch.testing.assert_close(out, expected)


def test_gaussian_blend_favours_the_window_whose_centre_is_nearer():
    # column 4 is 0.5 px from the first window's centre and 3.5 px from the second's (sigma
    # 0.125 * 8 = 1 px): weights e^-0.125 and e^-6.1, so the blend is ~0.01, not 2. Rows
    # 2-5 only: near the top and bottom both weights hit MONAI's floor and the blend nears 2.
    out = _two_window_blend("gaussian")
    torch.testing.assert_close(out[:, :4], torch.zeros(8, 4))
    torch.testing.assert_close(out[:, 8:], torch.full((8, 4), 4.0))
    middle = out[2:6]
    assert (middle[:, 4] < 0.1).all() and (middle[:, 7] > 3.9).all()
    torch.testing.assert_close(out[:, 4] + out[:, 7], torch.full((8,), 4.0))  # symmetric


class Threshold(nn.Module):
    """Two logits per pixel, ``(x, level)``: class 0 where the scaled input exceeds ``level``."""

    def __init__(self, level: float, normalise: nn.Module | None = None) -> None:
        super().__init__()
        self.level, self.normalise = level, normalise or nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalise(x)
        return torch.cat([x, torch.full_like(x, self.level)], dim=1)


def test_tiles_are_scaled_by_1_over_255():
    # 255 / 255 = 1 > 0.998 > 254 / 255 = 0.996; a scale of 1 / 256 would put 255 at 0.996
    images = np.array([[[[0, 254], [255, 255]]]], dtype=np.uint8)
    assert predict_tiles(Threshold(0.998), images, (2, 2)).tolist() == [[[1, 1], [0, 0]]]


def test_tiles_are_predicted_in_eval_mode():
    # eval: BatchNorm uses its running statistics, (x - 0.5) / 0.5, so class 0 iff x > 0.5;
    # in training mode it would centre each batch on its own mean (here near 0.95)
    norm = nn.BatchNorm2d(1, eps=1e-12, affine=False)
    norm.running_mean.fill_(0.5)
    norm.running_var.fill_(0.25)
    model = Threshold(0.0, norm).train()
    images = np.full((2, 1, 4, 4), 255, dtype=np.uint8)
    images[:, 0, 0, 0] = 200  # 0.78: above 0.5, below the batch mean
    assert (predict_tiles(model, images, (4, 4), batch_size=2) == 0).all()
