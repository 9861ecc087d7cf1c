"""NeuralConfig validation and per-kind defaults."""

import pytest

from mtneuro.config import from_mapping
from mtneuro.errors import ConfigError
from mtneuro.tasks.neural import KIND_DEFAULTS, NeuralConfig, resolve


def test_kind_defaults_fill_only_unset_fields():
    cfg = from_mapping(NeuralConfig, {"data": "x", "steps": 7})
    reach, sleep = resolve(cfg, "reach"), resolve(cfg, "sleep")
    assert reach.steps == sleep.steps == 7
    assert reach.split == "trial" and sleep.split == "block"
    assert reach.pos_window == KIND_DEFAULTS["reach"]["pos_window"]
    assert sleep.mine_exclude == "150" and reach.mine_exclude == "trial"


@pytest.mark.parametrize("key,value,expected", [
    ("method", "simclr", "method"),
    ("mined_weight", 1.5, "mined_weight"),
    ("mine_exclude", "near", "mine_exclude"),
    ("stepz", 3, "steps"),
])
def test_bad_values_name_the_key(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        from_mapping(NeuralConfig, {"data": "x", key: value})
