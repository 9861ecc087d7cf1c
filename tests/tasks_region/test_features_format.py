"""Frozen feature extraction in NHWC where it pays: same features, encoder left as found."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mtneuro.models import create_encoder
from mtneuro.tasks.features import extract_features


class _Recording(nn.Module):
    """A conv encoder that records, per batch, whether it ran NHWC: its weights, and the
    batch's layout where the channel count tells the formats apart (not with one channel)."""

    def __init__(self, channels: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3)
        self.seen: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_nhwc = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        self.seen.append(_weights_nhwc(self) and batch_nhwc)
        return self.conv(x).mean(dim=(2, 3))


def _weights_nhwc(module: nn.Module) -> bool:
    (weight,) = [p for p in module.parameters() if p.dim() == 4]
    return weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def _tiles(n: int = 6, size: int = 16, channels: int = 2) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, channels, size, size), dtype=np.uint8)


def test_2d_batches_run_nhwc_and_the_encoder_is_switched_back():
    encoder = _Recording()
    features = extract_features(encoder, _tiles(), batch_size=4)
    assert encoder.seen == [True, True]  # both batches
    assert not _weights_nhwc(encoder)  # as it came in
    encoder.seen.clear()
    plain = extract_features(encoder, _tiles(), batch_size=4, channels_last=False)
    assert encoder.seen == [False, False]
    np.testing.assert_allclose(features, plain, rtol=1e-5, atol=1e-6)


def test_an_encoder_already_nhwc_stays_nhwc():
    encoder = _Recording().to(memory_format=torch.channels_last)
    extract_features(encoder, _tiles())
    assert encoder.seen == [True] and _weights_nhwc(encoder)


def test_a_resnet_gives_the_same_features_in_both_formats():
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, spatial_dims=2)
    nhwc = extract_features(encoder, _tiles(8, 32, channels=1))
    nchw = extract_features(encoder, _tiles(8, 32, channels=1), channels_last=False)
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-4, atol=1e-5)


def test_3d_blocks_are_left_in_their_format():
    seen: list[bool] = []

    class Volume(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv3d(1, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.is_contiguous())
            return self.conv(x).mean(dim=(2, 3, 4))

    blocks = np.zeros((2, 1, 4, 8, 8), dtype=np.uint8)
    assert extract_features(Volume(), blocks).shape == (2, 2)
    assert seen == [True]
