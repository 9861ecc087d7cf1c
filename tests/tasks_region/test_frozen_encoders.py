"""An encoder given in memory is probed as a copy per seed: the as-released task-1 probe runs it
in training mode, and the BatchNorm statistics that moves must reach neither the next seed nor
the caller's module."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.tasks.encoders import FrozenEncoders
from mtneuro.tasks.region_head import HeadSettings, train_linear_head


class _BatchNormEncoder(nn.Module):
    out_dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.norm = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x)).mean(dim=(2, 3))


def _config() -> SimpleNamespace:
    return SimpleNamespace(encoder=None, method="encoder", device="cpu")


def test_each_seed_probes_its_own_copy_and_the_callers_module_is_untouched():
    torch.manual_seed(0)
    user = _BatchNormEncoder()
    before = {k: v.clone() for k, v in user.state_dict().items()}
    frozen = FrozenEncoders(_config(), 2, encoder=user)
    images = torch.randint(0, 255, (32, 1, 16, 16), dtype=torch.uint8)
    labels = np.arange(32) % 4
    settings = HeadSettings(optimizer="sgd", lr=0.01, epochs=1, batch_size=8, crop=None,
                            normalise=False, encoder_train_mode=True)
    first, _ = frozen(0)
    train_linear_head(first, 4, images, labels, settings, mean=0.0, std=1.0, seed=0)
    assert int(first.norm.num_batches_tracked) == 4  # the probe did move the statistics ...
    second, _ = frozen(1)
    assert second is not first and second is not user
    for name, value in before.items():  # ... of its own copy only
        assert torch.equal(user.state_dict()[name], value), name
        assert torch.equal(second.state_dict()[name], value), name
    assert user.training  # eval() was called on the copies, not on the caller's module


def test_an_encoder_that_cannot_be_copied_is_refused_with_the_reason():
    class Locked(_BatchNormEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

    with pytest.raises(ConfigError, match="Locked: copy.deepcopy failed"):
        FrozenEncoders(_config(), 2, encoder=Locked())(0)


def test_a_3d_encoder_refused_in_2d_names_the_fix_the_task_has():
    """Task 1 has --dim; task 3 reads 2D crops only and must not suggest an option it lacks."""
    from mtneuro.models import create_encoder
    from mtneuro.tasks.region_config import Task1Config
    from mtneuro.tasks.semantic_config import Task3Config

    volumetric = create_encoder("resnet-tiny", in_channels=1, spatial_dims=3)
    with pytest.raises(ConfigError,
                       match=r"takes 3D inputs.*pass dim='3d' \(--dim 3d; .*\) or a 2D encoder"):
        FrozenEncoders(Task1Config(method="encoder"), 2, encoder=volumetric)(0)
    with pytest.raises(ConfigError, match="takes 3D inputs.*takes 2D encoders only") as refused:
        FrozenEncoders(Task3Config(method="encoder"), 2, encoder=volumetric)(0)
    assert "--dim" not in str(refused.value)
