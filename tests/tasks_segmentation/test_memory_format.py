"""Task-2 training runs 2D models channels-last where that pays (a speed setting: the same
training as NCHW up to float rounding), 3D models as they are, and a resumed run keeps the
memory format it started with."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation


def _batches(spatial_dims: int = 2) -> CropBatches:
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, (4,) + (16,) * spatial_dims)
    return CropBatches((masks * 60).astype(np.uint8)[:, None], masks, batch_size=2, crop=16)


def _net(spatial_dims: int = 2) -> nn.Module:
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
    torch.manual_seed(0)
    return nn.Sequential(conv(1, 8, 3, padding=1), norm(8), nn.ReLU(), conv(8, 8, 3, padding=1),
                         nn.ReLU(), conv(8, 3, 1))


def _train(channels_last: bool, spatial_dims: int = 2, **kwargs):
    model = _net(spatial_dims)
    history = train_segmentation(model, _batches(spatial_dims),
                                 TrainSettings(epochs=2, channels_last=channels_last),
                                 n_classes=3, quiet=True, **kwargs)
    return model, history


def test_channels_last_trains_the_same_model_in_nhwc():
    nchw, nchw_history = _train(channels_last=False)
    nhwc, nhwc_history = _train(channels_last=True)
    weights = [p for p in nhwc.parameters() if p.dim() == 4 and p.shape[1] > 1
               and p.shape[2:] != (1, 1)]  # else both layouts are one
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last)
                           and not p.is_contiguous() for p in weights)
    assert all(p.is_contiguous() for p in nchw.parameters())
    np.testing.assert_allclose(nhwc_history["loss_per_epoch"], nchw_history["loss_per_epoch"],
                               rtol=1e-5)
    # AdamW moves a weight by about lr (1e-3) a step whatever the gradient's size, so a
    # gradient near 0 whose sign the rounding flips costs up to 2 lr a step (4 steps here)
    for a, b in zip(nchw.state_dict().values(), nhwc.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=8e-3)


def test_a_3d_model_keeps_its_memory_format():
    model, history = _train(channels_last=True, spatial_dims=3)
    assert all(p.is_contiguous() for p in model.parameters())
    assert np.isfinite(history["loss_per_epoch"]).all()


def test_resume_refuses_another_memory_format(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    _train(channels_last=True, checkpoint=checkpoint)
    with pytest.raises(ConfigError, match="channels_last"):
        _train(channels_last=False, checkpoint=checkpoint, resume=True)
