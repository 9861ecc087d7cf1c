"""Known answers for the segmentation networks: names, the SSL U-Net and the MONAI 3D networks.

The 3D networks are compared with MONAI built from the configuration the module documents, so a
changed level, filter count, activation, norm or dropout shows up as a different module tree.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from monai.networks.nets import HighResNet, UNet, VNet

from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.models.resnet import ResNet
from mtneuro.models.segmentation import (
    create_segmentation_model,
    input_side,
    model_dim,
)
from mtneuro.models.segmentation_2d import EncoderUNet, encoder_stages


# ------------------------------------------------------------------------- names and dims
def test_an_unknown_name_is_a_config_error_everywhere_it_is_looked_up():
    for lookup in (input_side, model_dim):
        with pytest.raises(ConfigError, match=r"^unknown segmentation model 'unet2' \(did you"):
            lookup("unet2")


def test_a_misspelt_dim_names_the_valid_ones():
    with pytest.raises(ConfigError, match=r"^unknown dim '2D' \(did you mean '2d'\?\); "
                                          r"valid: 2d, 3d$"):
        create_segmentation_model("unet", 4, "2D")


def test_imagenet_weights_an_smp_encoder_lacks_are_refused_before_any_download():
    with pytest.raises(ConfigError, match=r"^encoder_weights 'imagenet': smp has no ImageNet "
                                          r"weights for encoder 'resnext101_32x4d' \(it has: "):
        create_segmentation_model("unet", 4, encoder_name="resnext101_32x4d",
                                  encoder_weights="imagenet")


def test_an_encoder_weights_file_missing_a_key_is_refused(tmp_path):
    state = create_segmentation_model("unet", 3).encoder.state_dict()
    del state["layer4.1.bn2.running_var"]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(ConfigError, match=r"\(1 missing, 0 mis-shaped keys, "
                                          r"e\.g\. \['layer4\.1\.bn2\.running_var'\]\)$"):
        create_segmentation_model("unet", 3, encoder_weights=str(tmp_path / "partial.pt"))


# ----------------------------------------------------------------------- ssl-unet / U-Net
def test_ssl_unet_without_an_encoder_is_the_xray_resnet18():
    model = create_segmentation_model("ssl-unet", 3)
    # torchvision ResNet-18 (11,689,512) with a 3x3 one-channel stem (576 instead of 9,408)
    # and no classifier (513,000): the random-init control has the SSL encoder's architecture
    assert sum(p.numel() for p in model.encoder.parameters()) == 11_167_680
    conv1 = model.encoder.net.conv1
    assert (conv1.in_channels, conv1.kernel_size, conv1.stride) == (1, (3, 3), (1, 1))


def test_ssl_unet_refuses_a_multi_channel_encoder_in_its_own_words():
    rgb = create_encoder("resnet-tiny", in_channels=3, widths=(4, 8))
    with pytest.raises(ConfigError, match="ssl-unet needs a 2D encoder on 1 channel, got input "
                                          "spec .*'in_channels': 3"):
        create_segmentation_model("ssl-unet", 3, encoder=rgb)


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return create_encoder("resnet-tiny", widths=(4, 8))


def test_encoder_unet_refuses_a_std_that_is_not_positive():
    with pytest.raises(ConfigError, match=r"^encoder input std: expected float > 0, got 0$"):
        EncoderUNet(_tiny(), 3, std=0)


def test_encoder_unet_normalises_its_input_with_the_encoders_mean_and_std():
    model = EncoderUNet(_tiny(), 3, decoder_channels=(8,), mean=0.5, std=0.25).eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        normalised_inside = model(x)
        model.mean, model.std = 0.0, 1.0
        torch.testing.assert_close(normalised_inside, model((x - 0.5) / 0.25))


def test_building_the_unet_moves_no_encoder_batchnorm_statistics():
    # the width probe runs a zero batch: a pre-trained encoder's statistics must survive it
    encoder = _tiny().train()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    EncoderUNet(encoder, 3)
    assert encoder.training
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_one_decoder_merge_per_skip_even_with_fewer_decoder_channels():
    # stem + 4 stages: 5 feature maps, 4 merges; the last channel count repeats
    model = EncoderUNet(create_encoder("resnet-tiny", widths=(4, 4, 8, 8)), 3,
                        decoder_channels=(16, 8))
    assert [block[0].out_channels for block in model.decoder] == [16, 8, 8, 8]


def test_a_strided_stem_gets_logits_at_the_input_size():
    # 7x7 stride-2 stem and max-pool: the shallowest map is 1/4 of the input
    stem4 = ResNet(widths=(4, 8), blocks=(1, 1), stem="imagenet")
    assert EncoderUNet(stem4, 3).eval()(torch.rand(2, 1, 32, 32)).shape == (2, 3, 32, 32)


def test_the_unet_stages_of_a_torchvision_encoder_compose_to_its_feature_map():
    encoder = create_encoder("resnet18-imagenet").eval()
    x = torch.rand(1, 1, 32, 32)
    y = x
    with torch.no_grad():
        for stage in encoder_stages(encoder):
            y = stage(y)
        torch.testing.assert_close(y, encoder.forward_features(x))


# -------------------------------------------------------------------------- 3D networks
def test_unet3d_is_monais_unet_with_the_documented_levels():
    # 4 levels of 32-64-128-256 filters, stride 2 between them, residual units, BatchNorm
    reference = UNet(spatial_dims=3, in_channels=1, out_channels=3, channels=(32, 64, 128, 256),
                     strides=(2, 2, 2), num_res_units=1, norm="batch")
    assert repr(create_segmentation_model("unet3d", 3)) == repr(reference)


def test_vnet_light_is_monais_vnet_without_its_deepest_level():
    light = create_segmentation_model("vnet", 3)
    full = VNet(spatial_dims=3, in_channels=1, out_channels=3)
    shared = {"in_tr": "in_tr", "down32": "down_tr32", "down64": "down_tr64",
              "down128": "down_tr128", "up64": "up_tr64", "up32": "up_tr32", "out_tr": "out_tr"}
    for own, monai in shared.items():
        assert repr(getattr(light, own)) == repr(getattr(full, monai)), own
    # up128 is MONAI's up_tr128 fed by the 128-channel bottom instead of the 256 level
    fed = repr(light.up128).replace("ConvTranspose3d(128, ", "ConvTranspose3d(256, ")
    assert fed == repr(full.up_tr128)


def test_highresnet_keeps_monais_defaults():
    reference = HighResNet(spatial_dims=3, in_channels=1, out_channels=3)
    assert repr(create_segmentation_model("highresnet", 3)) == repr(reference)
