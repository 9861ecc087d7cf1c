"""Known-answer walk-through of configs and model builders: a task config's seeds outside
[0, 2**32) are refused where the config is built (they crashed inside scikit-learn once the
tiles were read), and a model size given as a bool or below 1 is named, not built."""

from __future__ import annotations

import re

import pytest

from mtneuro.errors import ConfigError
from mtneuro.models import create_encoder
from mtneuro.tasks import get_task
from mtneuro.tasks.region_config import Task1Config


@pytest.mark.parametrize(("seeds", "key", "bad"), [
    ([-1], "seeds[0]", -1),
    ([0, 2**40], "seeds[1]", 2**40),
    ([3, 2**32], "seeds[1]", 2**32),
])
def test_task_config_seeds_outside_the_generator_range_are_refused(seeds, key, bad) -> None:
    message = rf"^{re.escape(key)}: expected int in \[0, 2\*\*32\), got {bad}$"
    with pytest.raises(ConfigError, match=message):
        get_task("task1").make_config("quick", {"method": "pca", "seeds": seeds, "z_step": 64})
    with pytest.raises(ConfigError, match=message):
        Task1Config(seeds=tuple(seeds))
    assert Task1Config(seeds=(0, 2**32 - 1)).seeds == (0, 2**32 - 1)  # both ends are seeds


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    # was: Conv2d(True, 64) / Linear(in_features=True) built without a word
    ("resnet18", {"in_channels": True}, "in_channels: expected int >= 1, got True"),
    ("resnet-tiny", {"in_channels": True, "spatial_dims": 3},
     "in_channels: expected int >= 1, got True"),
    ("mlp", {"in_dim": True}, ("mlp widths: expected positive ints, got in_dim=True, "
                               "hidden=[64, 64, 64], out_dim=64")),
    ("mlp", {"in_dim": 4, "hidden": [True]}, "got in_dim=4, hidden=[True], out_dim=64"),
    # was: RuntimeError "negative dimension -3" from torch
    ("resnet-tiny", {"widths": [0, -3]}, "widths: expected a sequence of ints >= 1, got [0, -3]"),
    ("resnet-tiny", {"widths": [8, True]}, ("widths: expected a sequence of ints >= 1, "
                                            "got [8, True]")),
])
def test_model_sizes_that_are_no_positive_int_are_named(name, kwargs, message) -> None:
    with pytest.raises(ConfigError) as info:
        create_encoder(name, **kwargs)
    assert message in str(info.value)
