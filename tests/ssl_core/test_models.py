"""Every registered encoder builds, runs forward/backward, and bad names explain themselves."""

from __future__ import annotations

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.models import ENCODERS, create_encoder, list_encoders

# Tiny inputs per registered name: (kwargs, input shape).
CASES = {
    "resnet18": [({}, (2, 1, 8, 8)), ({"spatial_dims": 3}, (2, 1, 4, 8, 8))],
    "resnet18-imagenet": [({"in_channels": 3}, (2, 3, 16, 16))],
    "resnet18-small": [({}, (2, 3, 8, 8))],
    "resnet-tiny": [({}, (2, 1, 8, 8)), ({"spatial_dims": 3, "widths": (4, 8)}, (2, 1, 4, 8, 8))],
    "mlp": [
        ({"in_dim": 7}, (4, 7)),
        ({"in_dim": 7, "hidden": [5], "out_dim": 3, "activation": "prelu"}, (4, 7)),
    ],
}


def test_cases_cover_the_registry():
    assert sorted(CASES) == list_encoders()


@pytest.mark.parametrize(
    "name,kwargs,shape", [(n, kw, s) for n, cases in CASES.items() for kw, s in cases]
)
def test_encoder_forward_backward(name, kwargs, shape):
    torch.manual_seed(0)
    enc = create_encoder(name, **kwargs)
    x = torch.rand(shape, requires_grad=True)
    y = enc(x)
    assert y.shape == (shape[0], enc.out_dim)
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in enc.parameters())


def test_xray_resnet18_matches_mtneuro_layout():
    enc = create_encoder("resnet18")
    conv1 = enc.net.conv1
    assert (conv1.in_channels, conv1.kernel_size, conv1.stride) == (1, (3, 3), (1, 1))
    assert isinstance(enc.net.maxpool, torch.nn.Identity) and enc.out_dim == 512
    # No down-sampling in the stem: a 16x16 tile reaches layer4 at 2x2 (3 stride-2 stages).
    assert enc.forward_features(torch.rand(1, 1, 16, 16)).shape == (1, 512, 2, 2)
    imagenet = create_encoder("resnet18-imagenet")
    assert imagenet.net.conv1.kernel_size == (7, 7)
    assert imagenet.forward_features(torch.rand(1, 1, 64, 64)).shape == (1, 512, 2, 2)


def test_mlp_default_is_the_myow_monkey_encoder():
    enc = create_encoder("mlp", in_dim=10)
    linears = [m for m in enc.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (10, 64),
        (64, 64),
        (64, 64),
        (64, 64),
    ]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in enc.modules()) == 3


def test_unknown_encoder_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        create_encoder("resnet19")
    msg = str(err.value)
    assert "'resnet19'" in msg and "resnet18" in msg and "mlp" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "kwargs,needle", [({"spatial_dims": 4}, "spatial_dims"), ({"in_channels": 0}, "in_channels")]
)
def test_bad_encoder_kwargs(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        create_encoder("resnet-tiny", **kwargs)


def test_wrong_input_shape_is_named():
    enc = create_encoder("resnet-tiny")
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) with C=1"):
        enc(torch.rand(2, 3, 8, 8))
    assert "resnet18" in ENCODERS
