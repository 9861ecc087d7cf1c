"""Task 1's paper head feeds the encoder itself (training tiles, then test crops); it holds the
encoder to the contract as the feature extractor does: an error in forward is one line, NaN
or inf features are named as the encoder's (not a diverged head, not a silent 0.000), and both
loops, like the feature extractor's, report progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro import progress
from mtneuro.errors import DataError, TrainingError
from mtneuro.tasks.features import extract_features
from mtneuro.tasks.region_head import HeadSettings, predict_with_head, train_linear_head


class _Mean(nn.Module):
    """Two features: the mean and the max of each image; optionally NaN on bright images."""

    def __init__(self, nan_above: float | None = None, fail: bool = False) -> None:
        super().__init__()
        self.nan_above, self.fail = nan_above, fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fail:
            raise ValueError("my encoder expects normalised inputs")
        features = torch.stack([x.flatten(1).mean(1), x.flatten(1).amax(1)], dim=1)
        if self.nan_above is not None:
            features[features[:, 0] > self.nan_above] = float("nan")
        return features


def _tiles(n: int = 8) -> tuple[torch.Tensor, np.ndarray]:
    images = (torch.arange(n).reshape(n, 1, 1, 1) * 30 + torch.zeros(n, 1, 4, 4)).to(torch.uint8)
    return images, np.arange(n) % 4


_SETTINGS = HeadSettings(epochs=2, batch_size=4, crop=None, normalise=False)


def test_an_error_in_forward_is_one_line_naming_the_batch():
    images, labels = _tiles()
    with pytest.raises(DataError, match=r"^encoder _Mean: forward on a batch of shape "
                       r"\(1, 1, 4, 4\) raised ValueError: my encoder expects normalised inputs"):
        train_linear_head(_Mean(fail=True), 4, images, labels, _SETTINGS, mean=0.0, std=1.0,
                          seed=0)


def test_nan_features_on_training_tiles_are_the_encoders_not_a_diverged_head():
    images, labels = _tiles()
    with pytest.raises(DataError, match=r"^encoder _Mean: \d+ of its \d+ feature values on a "
                       r"batch of training tiles \(4, 1, 4, 4\) are NaN or inf"):
        train_linear_head(_Mean(nan_above=0.5), 4, images, labels, _SETTINGS, mean=0.0,
                          std=1.0, seed=0)


def test_nan_features_on_test_crops_stop_the_run_instead_of_scoring_them():
    """They used to be scored: argmax of NaN logits is class 0, accuracy 0.000, exit 0."""
    images, labels = _tiles()
    head = train_linear_head(_Mean(), 4, images[:4], labels[:4], _SETTINGS, mean=0.0, std=1.0,
                             seed=0)
    bright = (torch.full((3, 1, 4, 4), 250)).to(torch.uint8)
    with pytest.raises(DataError, match=r"^encoder _Mean: 6 of its 6 feature values on a batch "
                       r"of test crops \(3, 1, 4, 4\) are NaN or inf; no readout can be fitted"):
        predict_with_head(_Mean(nan_above=0.5), head, bright, _SETTINGS, mean=0.0, std=1.0)
    assert predict_with_head(_Mean(nan_above=0.5), head, images[:2], _SETTINGS, mean=0.0,
                             std=1.0).shape == (2,)  # dark crops: finite features, scored


def test_feature_extraction_and_scoring_report_progress_unless_quiet(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    images, labels = _tiles()
    extract_features(_Mean(), images, batch_size=4, what="encoding test images", quiet=False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("encoding test images: 4/8 images (50 %)")
    assert lines[-1].startswith("encoding test images: done, 8 images in ")
    loud = HeadSettings(epochs=1, batch_size=4, crop=None, normalise=False, quiet=False)
    head = train_linear_head(_Mean(), 4, images, labels, _SETTINGS, mean=0.0, std=1.0, seed=0)
    predict_with_head(_Mean(), head, images, loud, mean=0.0, std=1.0, batch_size=4)
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "scoring test crops: done, 8 crops in ")
    extract_features(_Mean(), images, what="encoding test images")  # quiet by default
    predict_with_head(_Mean(), head, images, _SETTINGS, mean=0.0, std=1.0)
    assert capsys.readouterr().err == ""


def test_a_head_on_finite_features_still_trains_and_scores_every_crop():
    images, labels = _tiles()
    head = train_linear_head(_Mean(), 4, images, labels, _SETTINGS, mean=0.0, std=1.0, seed=0)
    assert predict_with_head(_Mean(), head, images, _SETTINGS, mean=0.0, std=1.0,
                             batch_size=3).shape == (8,)
    with pytest.raises(TrainingError, match="no full batch"):
        train_linear_head(_Mean(), 4, images[:2], labels[:2], _SETTINGS, mean=0.0, std=1.0,
                          seed=0)
