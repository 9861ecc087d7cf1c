"""Known answers for the encoder registry, the MLP and ResNet encoders, user-encoder resolution
and how tasks 1 and 3 accept a frozen encoder (mtneuro.tasks.encoders).

Parameter counts are derived by hand from the architecture definitions (and, for the 2D ResNet-18
variants, from torchvision's ``resnet18`` with the documented stem and classifier changes), so a
changed layer, width, bias or block count shows up as a different number.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torchvision
from torch import nn

from mtneuro.errors import ConfigError, DataError
from mtneuro.models import create_encoder, list_encoders, resolve_encoder
from mtneuro.models.resnet import BasicBlock, ResNet
from mtneuro.tasks.encoders import FrozenEncoders, check_encoder_given


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------- registry
def test_list_encoders_filters_with_the_wildcard():
    assert list_encoders("resnet18*") == ["resnet18", "resnet18-imagenet", "resnet18-small"]
    assert list_encoders("mlp") == ["mlp"]
    assert list_encoders("*tiny") == ["resnet-tiny"]
    assert list_encoders("vit*") == []


# ------------------------------------------------------------------------ parameter counts
def _torchvision_variant(in_channels: int, kernel: int) -> int:
    """torchvision ResNet-18 with its first convolution on ``in_channels`` with a ``kernel``
    square kernel (64 filters, no bias) and the 1000-way classifier removed."""
    reference = torchvision.models.resnet18(weights=None)
    return (_count(reference) - _count(reference.conv1) - _count(reference.fc)
            + in_channels * 64 * kernel * kernel)


@pytest.mark.parametrize(("name", "kwargs", "in_channels", "kernel"), [
    ("resnet18", {}, 1, 3),  # X-ray: 3x3 stem on one channel
    ("resnet18-imagenet", {}, 1, 7),
    ("resnet18-imagenet", {"in_channels": 3}, 3, 7),
    ("resnet18-small", {}, 3, 3),  # three channels by default
])
def test_2d_resnet18_variants_have_torchvisions_parameters(name, kwargs, in_channels, kernel):
    assert _count(create_encoder(name, **kwargs)) == _torchvision_variant(in_channels, kernel)


# 11,689,512 (torchvision) - 9,408 (7x7x3x64 stem) - 513,000 (fc) leaves 11,167,104 = 3x3 weights
# 10,985,472 + 1x1 projections 172,032 (64*128 + 128*256 + 256*512) + BatchNorm 9,600.
# In 3D the 3x3 weights triple (3x3x3 kernels); the stem is 27*64 = 1,728 or 343*64 = 21,952.
RESNET18_3D = 10_985_472 * 3 + 172_032 + 9_600
# resnet-tiny (16, 32, 64, 64), one block per stage: 3x3 weights 147,600 (stem 144, stages
# 4,608 + 13,824 + 55,296 + 73,728), 1x1 projections 6,656 (16*32 + 32*64 + 64*64 for the strided
# 64 -> 64 stage), BatchNorm 1,056 (2 per channel of 16 + 2*16 + 3*32 + 3*64 + 3*64 channels).
TINY_3X3, TINY_REST = 147_600, 6_656 + 1_056
# mlp in_dim 10, [64, 64, 64] -> 64: bias-free Linear 10*64 + 2 * 64*64 before BatchNorm
# (2 * 64 each), output Linear 64*64 + 64.
MLP = 10 * 64 + 2 * 64 * 64 + 3 * 2 * 64 + 64 * 64 + 64


@pytest.mark.parametrize(("name", "kwargs", "expected"), [
    ("resnet18", {"spatial_dims": 3}, RESNET18_3D + 1_728),
    ("resnet18-imagenet", {"spatial_dims": 3}, RESNET18_3D + 21_952),
    ("resnet-tiny", {}, TINY_3X3 + TINY_REST),
    ("resnet-tiny", {"spatial_dims": 3}, TINY_3X3 * 3 + TINY_REST),
    ("mlp", {"in_dim": 10}, MLP),
    # without BatchNorm every hidden Linear has a bias instead of 2 * 64 BatchNorm parameters
    ("mlp", {"in_dim": 10, "batch_norm": False}, MLP - 3 * 2 * 64 + 3 * 64),
    ("mlp", {"in_dim": 10, "activation": "prelu"}, MLP + 3),  # one slope per hidden layer
])
def test_parameter_counts_follow_from_the_architecture(name, kwargs, expected):
    assert _count(create_encoder(name, **kwargs)) == expected


# ------------------------------------------------------------------------------------ MLP
def test_mlp_batchnorm_keeps_pytorchs_default_momentum():
    # docs/neural.md: BatchNorm momentum 0.1 (the reference code's 0.99 is not used)
    torch.manual_seed(0)
    enc = create_encoder("mlp", in_dim=4, hidden=[3], out_dim=2).train()
    x = torch.randn(16, 4)
    with torch.no_grad():
        batch_mean = enc.net[0](x).mean(0)
        enc(x)
    torch.testing.assert_close(enc.net[1].running_mean, 0.1 * batch_mean)


def _identity_mlp(activation: str) -> nn.Module:
    enc = create_encoder("mlp", in_dim=3, hidden=[3], out_dim=3, batch_norm=False,
                         activation=activation).eval()
    with torch.no_grad():
        for layer in enc.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.eye(3))
                layer.bias.zero_()
    return enc


@pytest.mark.parametrize(("activation", "expected"), [
    ("relu", [0.0, 0.0, 3.0]),
    ("prelu", [-0.5, 0.0, 3.0]),  # PReLU starts with slope 0.25
])
def test_mlp_activation_is_the_one_asked_for(activation, expected):
    # identity Linear layers: the output is the activation of the input, nothing else
    out = _identity_mlp(activation)(torch.tensor([[-2.0, 0.0, 3.0]]))
    assert out.tolist() == [expected]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"activation": "tanh"}, "unknown mlp activation 'tanh'; valid: relu, prelu"),
    ({"in_dim": 0}, "mlp widths: expected positive ints, got in_dim=0, hidden=[64, 64, 64]"),
    ({"hidden": [4.0]}, "mlp widths: expected positive ints, got in_dim=10, hidden=[4.0]"),
    ({"out_dim": 0}, "expected positive ints, got in_dim=10, hidden=[64, 64, 64], out_dim=0"),
])
def test_mlp_bad_settings_name_the_key_value_and_expectation(kwargs, message):
    with pytest.raises(ConfigError) as info:
        create_encoder("mlp", **{"in_dim": 10, **kwargs})
    assert message in str(info.value)


def test_mlp_wrong_input_width_is_named():
    enc = create_encoder("mlp", in_dim=10)
    with pytest.raises(ValueError, match=r"^MLPEncoder expects \(B, 10\), got shape \(2, 9\)$"):
        enc(torch.zeros(2, 9))


# --------------------------------------------------------------------------------- ResNet
def test_resnet_settings_out_of_range_are_config_errors():
    with pytest.raises(ConfigError, match=r"^spatial_dims: expected 2 or 3, got 1$"):
        create_encoder("resnet-tiny", spatial_dims=1)
    with pytest.raises(ConfigError, match="expected equal non-empty lengths, got"):
        ResNet(widths=(4, 8), blocks=(1,))
    with pytest.raises(ConfigError, match=r"^unknown stem 'big'"):
        ResNet(widths=(4,), blocks=(1,), stem="big")


def test_a_3d_encoder_names_the_3d_layout():
    enc = create_encoder("resnet-tiny", spatial_dims=3, widths=(4, 8))
    with pytest.raises(ValueError,
                       match=r"expects \(B, C, D, H, W\) with C=1, got shape \(2, 1, 8, 8\)"):
        enc(torch.zeros(2, 1, 8, 8))


def test_xray_stem_keeps_the_full_resolution():
    enc = create_encoder("resnet18").eval()
    x = torch.zeros(1, 1, 17, 17)
    assert enc.net.conv1(x).shape == (1, 64, 17, 17)
    # three stride-2 stages after a full-resolution stem: ceil(17 / 8) = 3
    assert enc.forward_features(x).shape == (1, 512, 3, 3)


@pytest.mark.parametrize(("kwargs", "shape", "expected"), [
    # the first stage keeps the resolution, each later one halves it (depth too in 3D)
    ({}, (1, 1, 16, 16), (1, 64, 2, 2)),
    ({"spatial_dims": 3}, (1, 1, 8, 16, 16), (1, 64, 1, 2, 2)),
    ({"widths": (4, 8, 12)}, (1, 1, 16, 16), (1, 12, 4, 4)),
])
def test_resnet_tiny_feature_map_strides(kwargs, shape, expected):
    enc = create_encoder("resnet-tiny", **kwargs).eval()
    assert enc.forward_features(torch.zeros(shape)).shape == expected


def test_imagenet_stem_divides_by_four_before_the_stages():
    # 7x7 stride-2 convolution, then a 3x3 stride-2 max-pool: 32 -> 16 -> 8, stage 2 -> 4
    net = ResNet(widths=(4, 8), blocks=(1, 1), spatial_dims=3, stem="imagenet").eval()
    assert net.forward_features(torch.zeros(1, 1, 32, 32, 32)).shape == (1, 8, 4, 4, 4)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_basic_block_adds_its_identity_shortcut_before_the_last_relu(spatial_dims):
    block = BasicBlock(3, 3, 1, spatial_dims).eval()
    with torch.no_grad():
        block.conv1.weight.zero_()
        block.conv2.weight.zero_()
    # zero convolutions and fresh BatchNorm: the residual branch is 0, so y = relu(x)
    x = torch.randn(2, 3, *(4,) * spatial_dims)
    assert torch.equal(block(x), torch.relu(x))


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("resnet-tiny", {}, (2, 1, 16, 16)),
    ("resnet-tiny", {"spatial_dims": 3, "widths": (4, 8)}, (2, 1, 4, 8, 8)),
])
def test_forward_is_the_global_average_of_the_last_feature_map(name, kwargs, shape):
    torch.manual_seed(0)
    enc = create_encoder(name, **kwargs).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        pooled = enc.forward_features(x).mean(dim=tuple(range(2, len(shape))))
        torch.testing.assert_close(enc(x), pooled)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_resnet_convolutions_start_from_kaiming_fan_out(spatial_dims):
    torch.manual_seed(0)
    enc = create_encoder("resnet-tiny", spatial_dims=spatial_dims)
    # stage 2's first convolution maps 16 -> 32 channels: fan_out = 32 * 3^d (fan_in half that)
    weight = enc.stages[1][0].conv1.weight
    expected = (2 / (32 * 3**spatial_dims)) ** 0.5
    assert abs(weight.std().item() / expected - 1) < 0.05


def test_resnet18_small_takes_rgb_by_default():
    enc = create_encoder("resnet18-small")
    assert enc.in_channels == 3 and enc.net.conv1.in_channels == 3


# ------------------------------------------------------------------------- user encoders
class _Flatten(nn.Module):
    """No ``out_dim``: resolve_encoder must find it from one dummy forward pass."""

    def __init__(self, input_spec: dict | None = None) -> None:
        super().__init__()
        if input_spec is not None:
            self.input_spec = input_spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


@pytest.mark.parametrize(("input_spec", "out_dim"), [
    (None, 64 * 64),  # the default probe: one channel, 64 x 64
    ({"spatial_dims": 3, "size": 4}, 8 * 4 * 4),  # 3D probes are 8-slice blocks
    ({"in_channels": 2, "size": 5}, 2 * 5 * 5),
])
def test_out_dim_comes_from_the_documented_probe_shape(input_spec, out_dim):
    encoder, _ = resolve_encoder(_Flatten(input_spec))
    assert encoder.out_dim == out_dim


def test_a_non_integer_out_dim_is_replaced_by_the_probed_one():
    module = _Flatten()
    module.out_dim = 4.0
    encoder, _ = resolve_encoder(module)
    assert encoder.out_dim == 4096 and isinstance(encoder.out_dim, int)


def test_the_input_spec_wins_over_the_modules_attributes():
    # module docstring: missing keys come from the module's attributes, given keys win
    module = _Flatten({"in_channels": 1, "size": 8})
    module.in_channels, module.spatial_dims = 3, 2
    encoder, spec = resolve_encoder(module)
    assert spec["in_channels"] == 1 and encoder.out_dim == 64


class _Norm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + 1).flatten(1)


@pytest.mark.parametrize("training", [True, False])
def test_the_out_dim_probe_moves_no_batchnorm_statistics_and_keeps_the_mode(training):
    module = _Norm().train(training)
    encoder, _ = resolve_encoder(module)
    assert encoder.out_dim == 4096 and encoder.training is training
    assert encoder.norm.running_mean.item() == 0.0 and encoder.norm.num_batches_tracked == 0


def test_a_bad_encoder_output_or_forward_is_named_with_the_probe_shape():
    class OneRow(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten()[None]  # batch folded into one row

    with pytest.raises(ConfigError, match=r"expected output \(B, D\) with D >= 1 for input "
                                          r"\(2, 1, 64, 64\), got \(1, 8192\)$"):
        resolve_encoder(OneRow())
    with pytest.raises(ConfigError, match=r"forward on a dummy input of shape \(2, 1, 64, 64\) "
                                          r"failed \(RuntimeError: "):
        resolve_encoder(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))


def test_specs_that_name_nothing_buildable_are_refused_precisely():
    with pytest.raises(ConfigError, match="^encoder spec: expected a non-empty string, got ''$"):
        resolve_encoder("")
    with pytest.raises(DataError, match=r"^encoder 'missing.pt': file not found \(an encoder "
                                        r"file is the encoder.pt that `mtneuro pretrain` or "):
        resolve_encoder("missing.pt")  # a file name alone, no folder
    with pytest.raises(ConfigError, match="^encoder 'mlp' needs arguments .*'in_dim'"):
        resolve_encoder("mlp")


def test_a_callable_that_needs_arguments_is_a_config_error_naming_the_spec():
    # mtneuro calls module:callable with no arguments; nn.Linear needs two
    with pytest.raises(ConfigError, match=r"^encoder 'torch.nn:Linear': calling it with no "
                                          r"arguments failed \(.*in_features"):
        resolve_encoder("torch.nn:Linear")


# ------------------------------------------------------------ frozen encoders of tasks 1, 3
def _tiny_encoder() -> nn.Module:
    torch.manual_seed(0)
    return create_encoder("resnet-tiny", widths=(4, 8))


def _config(**kwargs: object) -> SimpleNamespace:
    return SimpleNamespace(**{"encoder": None, "method": "encoder", "device": "cpu", **kwargs})


def test_a_2d_encoder_is_refused_by_a_3d_task():
    flat = create_encoder("resnet-tiny", widths=(4, 8))
    with pytest.raises(ConfigError, match=r"takes 2D inputs but the task runs in 3D; pass "
                                          r"dim='2d' \(--dim 2d; in a bench suite, params: "
                                          r"\{dim: 2d\} in the grid entry\) or a 3D encoder$"):
        FrozenEncoders(_config(dim="3d"), 3, encoder=flat)(0)


def test_the_frozen_encoder_comes_back_in_eval_mode():
    encoder, spec = FrozenEncoders(_config(), 2, encoder=_tiny_encoder().train())(0)
    assert not encoder.training and spec["spatial_dims"] == 2


def test_a_multi_channel_encoder_is_refused_before_the_task_runs():
    rgb = create_encoder("resnet-tiny", in_channels=3, widths=(4, 8))
    with pytest.raises(ConfigError, match=r"takes images of 3 channel\(s\).*have 1 channel"):
        FrozenEncoders(_config(), 2, encoder=rgb)(0)


@pytest.mark.parametrize(("config", "encoder", "message"), [
    # an encoder in memory must not ride along with a method that never reads it
    (_config(method="pca"), nn.Identity(), "method 'pca' reads no encoder"),
    (_config(), None, r"method encoder: expected encoder=SPEC \(--encoder SPEC; "),
    (_config(method="byol", dim="3d"), None, "method byol: on-the-fly pre-training is 2D only"),
])
def test_encoder_and_method_are_checked_together(config, encoder, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        check_encoder_given(config, encoder)
    check_encoder_given(_config(method="byol"))  # 2D pre-trains on the fly: nothing to refuse


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_a_neural_encoder_is_refused_by_image_tasks_naming_what_it_takes(spatial_dims):
    # it used to pass as 2D and fail on the tiles' shape once they were read
    neural = create_encoder("mlp", in_dim=12)
    message = r"an encoder of vectors of 12 values \(a neural encoder\?\), not of images"
    with pytest.raises(ConfigError, match=message):
        FrozenEncoders(_config(dim=f"{spatial_dims}d"), spatial_dims, encoder=neural)(0)
    with pytest.raises(ConfigError, match=message):  # before any data are read
        check_encoder_given(_config(), neural)
    check_encoder_given(_config(), _tiny_encoder())  # an image encoder passes


def test_a_3d_encoder_that_declares_no_spatial_dims_is_told_to_declare_them():
    """Walkthrough R: torch read the 2D probe batch as one unbatched 3D sample and the message
    blamed the channels and RGB models."""
    from torch import nn

    from mtneuro.errors import ConfigError
    from mtneuro.models.user import resolve_encoder

    class NoSpec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv3d(1, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(x).flatten(2).mean(2)

    with pytest.raises(ConfigError, match=r"it has 3D layers but was probed with 2D images: "
                                          r"declare input_spec = \{'spatial_dims': 3\}") as info:
        resolve_encoder(NoSpec())
    assert "RGB" not in str(info.value)
