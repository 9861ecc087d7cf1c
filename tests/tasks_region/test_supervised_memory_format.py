"""The supervised region classifier trains 2D models channels-last where that pays (a speed
setting only: the same training as NCHW up to float rounding), and 3D models as they are."""

from __future__ import annotations

import numpy as np
import torch

from mtneuro.models import create_encoder
from mtneuro.tasks.supervised import SupervisedSettings, train_classifier


def _train(channels_last: bool, spatial_dims: int = 2):
    rng = np.random.default_rng(0)
    shape = (24, 1) + (16,) * spatial_dims
    x = torch.as_tensor(rng.integers(0, 256, shape, dtype=np.uint8))
    y = np.arange(24) % 4
    settings = SupervisedSettings(epochs=2, batch_size=8, channels_last=channels_last)
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, spatial_dims=spatial_dims)
    return train_classifier(encoder, 4, (x, y), (x[:8], y[:8]), settings, seed=0)


def _convolution_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() == 4]


def test_channels_last_trains_the_same_classifier_in_nhwc():
    nchw, nchw_history = _train(channels_last=False)
    nhwc, nhwc_history = _train(channels_last=True)
    assert all(p.is_contiguous() for p in _convolution_weights(nchw))
    assert all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
               for p in _convolution_weights(nhwc) if p.shape[1] > 1 and p.shape[2:] != (1, 1))
    np.testing.assert_allclose(nhwc_history["loss"], nchw_history["loss"], rtol=1e-4)
    for a, b in zip(nchw.state_dict().values(), nhwc.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4)


def test_3d_classifier_keeps_its_memory_format():
    model, history = _train(channels_last=True, spatial_dims=3)
    assert all(p.is_contiguous() for p in model.parameters())
    assert np.isfinite(history["loss"]).all()
