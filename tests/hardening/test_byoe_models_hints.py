"""What the out_dim probe (a forward on zeros while an encoder is resolved) says when it
fails: the hint fits the encoder (half-precision weights, 3D layers, a feature map
returned unflattened) instead of always the one-channel advice."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.models import resolve_encoder
from mtneuro.models.checkpoint import ONE_CHANNEL
from mtneuro.models.encoder_hints import float32_hint


def _pooled(dtype: torch.dtype) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_half_precision_encoder_is_told_to_use_float32(dtype: torch.dtype) -> None:
    # it was told the tasks feed one-channel tiles, which it takes
    encoder = _pooled(dtype)
    with pytest.raises(ConfigError) as info:
        resolve_encoder(encoder)
    message = str(info.value)
    assert message.endswith(f"; {float32_hint(encoder)}") and "\n" not in message
    assert ONE_CHANNEL not in message and str(dtype).removeprefix("torch.") in message


def test_a_float32_encoder_failing_on_the_channels_keeps_the_one_channel_hint() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_encoder(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))
    assert str(info.value).endswith(ONE_CHANNEL)


def test_a_3d_encoder_probed_in_2d_keeps_the_3d_hint() -> None:
    encoder = nn.Sequential(nn.Conv3d(1, 4, 3), nn.AdaptiveAvgPool3d(1), nn.Flatten())
    with pytest.raises(ConfigError, match=r"it has 3D layers but was probed with 2D images"):
        resolve_encoder(encoder)


class _Map11(nn.Module):
    """A pooled feature map left unflattened: ``(N, D, 1, 1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


def test_an_unflattened_pooled_output_is_told_to_flatten() -> None:
    with pytest.raises(ConfigError, match=r"got \(2, 8, 1, 1\); flatten the features in "
                                          r"forward \(e\.g\. return torch\.flatten\(x, 1\)\)$"):
        resolve_encoder(_Map11())


def test_an_unpooled_feature_map_is_told_to_pool_then_flatten() -> None:
    with pytest.raises(ConfigError, match=r"got \(2, 4, 62, 62\); pool its spatial sides "
                                          r"\(e\.g\. nn\.AdaptiveAvgPool2d\(1\)\), then flatten"):
        resolve_encoder(nn.Conv2d(1, 4, 3))
