"""A segmentation network refuses, in one line, an input side it cannot take (walk3d):
before, MONAI's 3D U-Net and V-Net failed with torch's "Sizes of tensors must match", and the
3D U-Net returned a 7-slice block 8 slices deep without a word."""

from __future__ import annotations

import pickle

import pytest
import torch

from mtneuro.models import create_segmentation_model


@pytest.mark.parametrize(("name", "shape", "needle"), [
    ("unet3d", (1, 1, 7, 16, 16), (r"'unet3d' takes a depth that is a multiple of 8, got 7 .*"
                                   r"\(nearest: 8\)")),
    ("vnet", (1, 1, 8, 15, 16), (r"'vnet' takes a height that is a multiple of 8, got 15 .*"
                                 r"\(nearest: 8, 16\)")),
    ("fpn", (1, 1, 64, 100), (r"'fpn' takes a width that is a multiple of 32, got 100 .*"
                              r"\(nearest: 96, 128\)")),
])
def test_a_side_the_network_cannot_take_is_named(name, shape, needle):
    model = create_segmentation_model(name, n_classes=3).eval()
    with pytest.raises(ValueError, match=needle):
        model(torch.zeros(shape))


def test_a_side_it_takes_keeps_its_shape_and_the_model_still_pickles():
    model = create_segmentation_model("unet3d", n_classes=3).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 8, 16, 24)).shape == (1, 3, 8, 16, 24)
    pickle.loads(pickle.dumps(model))  # DataLoader workers and spawn pickle models
    any_side = create_segmentation_model("highresnet", n_classes=3).eval()
    with torch.no_grad():
        assert any_side(torch.zeros(1, 1, 3, 7, 9)).shape == (1, 3, 3, 7, 9)


@pytest.mark.parametrize(("x", "needle"), [
    (torch.zeros(1, 3, 64, 64), r"^segmentation model 'unet-mtneuro' expects \(B, C, H, W\) "
                                r"with C=1, got shape \(1, 3, 64, 64\)$"),
    (torch.zeros(1, 1, 64, 64, dtype=torch.uint8),
     r"^segmentation model 'unet-mtneuro' expects float32 images in \[0, 1\], got dtype uint8"),
])
def test_wrong_channels_or_dtype_are_named_in_one_line(x, needle):
    model = create_segmentation_model("unet-mtneuro", n_classes=3).eval()
    with pytest.raises(ValueError, match=needle):
        model(x)
