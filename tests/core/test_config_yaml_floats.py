"""Config files read floats as YAML 1.2 does: ``1e5`` and ``1.0e30`` are numbers (PyYAML's
YAML 1.1 resolver reads them as strings, so ``weight_decay: 1e5`` failed "expected float"),
while text that is no number stays text; loading stays safe (no Python tags)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mtneuro.config import load_yaml, load_yaml_mapping
from mtneuro.errors import ConfigError


@dataclass(frozen=True)
class Optim:
    lr: float = 0.1
    weight_decay: float = 0.0
    name: str = "sgd"


@pytest.mark.parametrize("text, value", [
    ("1e5", 1e5), ("1.0e30", 1.0e30), ("-2E-3", -2e-3), ("+3e2", 300.0), ("1.0e-3", 1e-3),
    ("2.5", 2.5), (".5e1", 5.0), ("1_000.5", 1000.5),
])
def test_yaml_1_2_floats_are_numbers(tmp_path, text, value):
    path = tmp_path / "c.yaml"
    path.write_text(f"weight_decay: {text}\n")
    assert load_yaml_mapping(path) == {"weight_decay": value}
    assert load_yaml(path, Optim).weight_decay == value


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan", "1e400"])
def test_non_finite_floats_are_read_but_no_setting_takes_them(tmp_path, text):
    """A learning rate of .inf passed every range check (inf > 0) and logged "lr": Infinity
    before the NaN guard stopped the run; the command line refused "inf" already."""
    path = tmp_path / "c.yaml"
    path.write_text(f"weight_decay: {text}\n")
    assert isinstance(load_yaml_mapping(path)["weight_decay"], float)
    with pytest.raises(ConfigError, match="weight_decay: expected a finite float, got"):
        load_yaml(path, Optim)


@pytest.mark.parametrize("text, value", [
    ("abc", "abc"), ("1e", "1e"), ("e5", "e5"), ("1e5x", "1e5x"), ("1.2.3", "1.2.3"),
    ("'1e5'", "1e5"), ("12", 12), ("0x1F", 31), ("true", True), ("null", None),
])
def test_other_scalars_keep_their_meaning(tmp_path, text, value):
    path = tmp_path / "c.yaml"
    path.write_text(f"name: {text}\n")
    loaded = load_yaml_mapping(path)["name"]
    assert loaded == value and type(loaded) is type(value)


def test_python_tags_are_still_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml_mapping(path)


def test_a_pretrain_config_file_takes_exponent_floats(tmp_path):
    from mtneuro.tasks.pretrain.config import make_config

    path = tmp_path / "pretrain.yaml"
    path.write_text("weight_decay: 1e5\nbase_lr: 1.0e-1\nmomentum: 5E-1\n")
    config = make_config("quick", config_file=path)
    assert (config.weight_decay, config.base_lr, config.momentum) == (1e5, 0.1, 0.5)


def test_a_key_set_twice_is_named_while_merge_keys_still_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.1\nweight_decay: 0.0\nlr: 0.2\n")
    with pytest.raises(ConfigError,
                       match=r"not valid YAML \(duplicate key 'lr' at line 3, column 1\)"):
        load_yaml_mapping(path)
    path.write_text("nested: {a: 1, a: 2}\n")
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        load_yaml_mapping(path)
    path.write_text("base: &b {lr: 0.1, name: adam}\nrun:\n  <<: *b\n  lr: 0.3\n")
    assert load_yaml_mapping(path)["run"] == {"lr": 0.3, "name": "adam"}
