from dataclasses import dataclass, field
from typing import Literal

import pytest

from mtneuro.config import check, from_mapping, in_unit_interval, load_yaml, to_dict
from mtneuro.errors import ConfigError
from mtneuro.registry import Registry, check_choice


@dataclass(frozen=True)
class Momentum:
    start: float = field(default=0.996, metadata=in_unit_interval())


@dataclass(frozen=True)
class SSL:
    method: Literal["byol", "myow"] = "myow"
    epochs: int = field(default=10, metadata=check(lambda v: v > 0, "int > 0"))
    crops: tuple[int, ...] = (128,)
    momentum: Momentum = field(default_factory=Momentum)


def test_defaults_and_nested():
    cfg = from_mapping(SSL, {"epochs": 3, "momentum": {"start": 0.5}, "crops": [64, 32]})
    assert cfg == SSL(epochs=3, crops=(64, 32), momentum=Momentum(0.5))
    assert to_dict(cfg) == {"method": "myow", "epochs": 3, "crops": [64, 32], "momentum": {"start": 0.5}}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"epoch": 3}, "epoch: unknown key (did you mean 'epochs'?)"),
        ({"method": "simclr"}, "method: expected one of 'byol', 'myow', got 'simclr'"),
        ({"epochs": 0}, "epochs: expected int > 0, got 0"),
        ({"epochs": "3"}, "epochs: expected int, got '3'"),
        ({"epochs": True}, "epochs: expected int, got True"),
        ({"momentum": {"start": 1.5}}, "momentum.start: expected float in [0, 1), got 1.5"),
        ({"momentum": {"stat": 0.5}}, "momentum.stat: unknown key"),
        ({"momentum": {"strt": 0.5}}, "(did you mean 'momentum.start'?)"),  # its full path
        ({"crops": [64, "x"]}, "crops[1]: expected int, got 'x'"),
    ],
)
def test_errors_name_key_value_and_expectation(data, message):
    with pytest.raises(ConfigError) as err:
        from_mapping(SSL, data)
    assert message in str(err.value)


def test_load_yaml_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 5\nmethod: byol\n")
    assert load_yaml(path, SSL, overrides={"epochs": 7, "method": None}) == SSL(method="byol", epochs=7)
    path.write_text("- a\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_yaml(path, SSL)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml", SSL)


def test_registry():
    reg = Registry("encoder")

    @reg.register("resnet18")
    def build(width: int = 2):
        return width

    assert reg.create("resnet18", width=None) == 2 and reg.list("res*") == ["resnet18"]
    with pytest.raises(ConfigError, match=r"unknown encoder 'resnet81' \(did you mean 'resnet18'\?\); valid: resnet18"):
        reg.create("resnet81")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("resnet18")(build)
    assert check_choice("dim", "2d", ["2d", "3d"]) == "2d"
