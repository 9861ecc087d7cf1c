"""MTNeuro's own U-Net (``unet-mtneuro``, ``unet3d-mtneuro``): the layers, order, sizes and
initialisation of ``MTNeuro/models/unet.py`` as the reference's UNet configs build it, and a
card that lists no network deviation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.models.segmentation import create_segmentation_model
from mtneuro.tasks.segmentation.config import task2_config
from mtneuro.tasks.segmentation.protocol import task2_card


def _reference_parameters(dim: int, classes: int, filters=(32, 64, 128, 256)) -> int:
    """Parameters of the reference's U-Net counted from its layer list (conv k^dim weights
    and biases, BatchNorm weight and bias; the up blocks' unused 1 x 1 convolution left out)."""
    k3, k2 = 3**dim, 2**dim
    total, c_in = 0, 1
    for f in filters:  # down blocks: conv, BN, conv, BN
        total += c_in * f * k3 + f + 2 * f + f * f * k3 + f + 2 * f
        c_in = f
    for f in reversed(filters[:-1]):  # up blocks: transposed conv, BN, conv, BN, conv, BN
        total += 2 * f * f * k2 + f + 2 * f + 2 * f * f * k3 + f + 2 * f + f * f * k3 + f + 2 * f
    return total + filters[0] * classes + classes


@pytest.mark.parametrize(("name", "dim", "shape"), [
    ("unet-mtneuro", 2, (2, 1, 32, 48)), ("unet3d-mtneuro", 3, (1, 1, 8, 16, 24))])
def test_the_network_has_the_references_size_and_keeps_the_input_size(name, dim, shape):
    torch.manual_seed(0)
    model = create_segmentation_model(name, 4)
    assert sum(p.numel() for p in model.parameters()) == _reference_parameters(dim, 4)
    assert model(torch.rand(*shape)).shape == (shape[0], 4, *shape[2:])


def test_each_convolution_is_followed_by_relu_then_batchnorm_and_starts_xavier():
    model = create_segmentation_model("unet-mtneuro", 3)
    layers = [m for m in model.modules() if not list(m.children())]
    kinds = [type(m) for m in layers]
    for i, kind in enumerate(kinds):
        if kind in (nn.Conv2d, nn.ConvTranspose2d) and i < len(kinds) - 1:
            assert kinds[i + 1:i + 3] == [nn.ReLU, nn.BatchNorm2d], i
    assert kinds[-1] is nn.Conv2d and layers[-1].kernel_size == (1, 1)  # the class head
    assert sum(k is nn.MaxPool2d for k in kinds) == 1  # one module, used after blocks 1-3
    convs = [m for m in layers if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(torch.count_nonzero(m.bias) == 0 for m in convs)
    first = convs[0].weight  # Xavier uniform: within +-sqrt(6 / (fan_in + fan_out))
    bound = (6 / (1 * 9 + 32 * 9)) ** 0.5
    assert first.abs().max() <= bound and first.abs().max() > 0.8 * bound


def test_its_paper_card_lists_no_network_deviation_unlike_smps_unet():
    def network_lines(model: str) -> list[str]:
        card = task2_card(task2_config("paper", model=model, classes=4), "bossdb")
        return [d for d in card["deviations"] if "U-Net" in d or "network" in d]

    assert network_lines("unet-mtneuro") == []
    assert network_lines("unet3d-mtneuro") == []
    assert any("smp's U-Net" in d for d in network_lines("unet"))


@pytest.mark.parametrize("model", ["unet-mtneuro", "unet3d-mtneuro"])
def test_smp_encoder_options_are_refused_with_the_config_not_after_the_data(model):
    from mtneuro.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"^encoder_weights: applies to the 2D smp models, "
                                          rf"not '{model}' \(MTNeuro's own U-Net: no encoder"):
        task2_config("paper", model=model, encoder_weights="imagenet")

