"""Sliding-window inference gives exact answers; evaluation of a perfect predictor scores 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation.inference import (
    evaluate_tiles,
    predict_tiles,
    sliding_window_logits,
)


@pytest.mark.parametrize(
    "shape, window", [((2, 1, 50, 70), (16, 24)), ((1, 1, 8, 40, 33), (8, 16, 16))]
)
@pytest.mark.parametrize("blend", ["gaussian", "constant"])
def test_plus_one_predictor_gives_input_plus_one(shape, window, blend):
    images = torch.rand(shape)
    out = sliding_window_logits(lambda x: x + 1, images, window, overlap=0.5, blend=blend)
    torch.testing.assert_close(out, images + 1)


def test_one_window_equals_direct_inference():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1)
    ).eval()
    tile = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        direct = model(tile)
        windowed = sliding_window_logits(model, tile, (32, 32), overlap=0.25)
        clipped = sliding_window_logits(
            model, tile, (64, 64), overlap=0.25
        )  # larger window is clipped
    torch.testing.assert_close(windowed, direct)
    torch.testing.assert_close(clipped, direct)


def test_bad_overlap_and_window_rank():
    with pytest.raises(ConfigError, match="overlap"):
        sliding_window_logits(lambda x: x, torch.rand(1, 1, 8, 8), (4, 4), overlap=1.0)
    with pytest.raises(ConfigError, match="window"):
        sliding_window_logits(lambda x: x, torch.rand(1, 1, 8, 8), (4, 4, 4))


class IntensityClassifier(nn.Module):
    """Logits peak at class c where the image equals 50 * c / 255: a perfect predictor."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.register_buffer("levels", torch.arange(n_classes).float() * 50 / 255)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return -((x - self.levels.view(shape)) ** 2)


@pytest.mark.parametrize("dim", ["2d", "3d"])
def test_perfect_predictor_scores_one(dim):
    rng = np.random.default_rng(0)
    spatial = (40, 40) if dim == "2d" else (8, 24, 24)
    masks = rng.integers(0, 3, size=(5, *spatial))  # class 3 never occurs
    images = (masks * 50).astype(np.uint8)[:, None]
    window = (16, 16) if dim == "2d" else (8, 16, 16)
    scores, pred = evaluate_tiles(IntensityClassifier(4), images, masks, 4, window, batch_size=2)
    np.testing.assert_array_equal(pred, masks)
    assert (
        scores["avg_f1"] == 1.0 and scores["avg_iou"] == 1.0 and scores["balanced_accuracy"] == 1.0
    )
    assert np.isnan(scores["f1"]["3"])  # absent from truth and prediction


def test_predict_tiles_is_argmax_of_logits():
    model = IntensityClassifier(4)
    images = np.array([[[[0, 50], [100, 150]]]], dtype=np.uint8)
    assert predict_tiles(model, images, (2, 2)).tolist() == [[[0, 1], [2, 3]]]


def test_scoring_reports_its_progress_in_a_log(monkeypatch):
    # 3D inference on a CPU runs for minutes: a log gets progress lines (none when quiet)
    import io

    from mtneuro import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    stream = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", stream)
    model = IntensityClassifier(4)
    images = np.zeros((5, 1, 2, 4, 4), dtype=np.uint8)
    predict_tiles(model, images, (2, 4, 4), batch_size=2, progress=True)
    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == [
        "scoring test blocks: 2/5 blocks (40 %)", "scoring test blocks: 4/5 blocks (80 %)",
        "scoring test blocks: 5/5 blocks (100 %)"]
    stream.truncate(0)
    predict_tiles(model, images, (2, 4, 4), batch_size=2)
    assert stream.getvalue() == ""
