"""Known answers for typed configs: every wrong key or value fails naming the key, the value
and what was expected (from a mutation audit of mtneuro.config)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mtneuro.config import check, check_seeds, from_mapping, in_unit_interval, to_dict, validate
from mtneuro.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    start: float = field(default=0.5, metadata=in_unit_interval())


@dataclass(frozen=True)
class Sample:
    count: int
    size: tuple[int, int] = (8, 8)
    flag: bool = False
    lr: float = 0.1
    name: str = "x"
    params: dict[str, int] = field(default_factory=dict)
    folder: Path = Path(".")
    inner: Inner = field(default_factory=Inner)
    extra: Inner | None = None
    limit: int | None = field(default=None, metadata=check(lambda v: v > 0, "int > 0"))
    mode: int | str = 1
    seed: int = 0


@pytest.mark.parametrize(("data", "message"), [
    ({"size": [1, 2, 3]}, "size: expected list of 2 values, got [1, 2, 3]"),
    ({"flag": 1}, "flag: expected bool, got 1"),
    ({"lr": True}, "lr: expected float, got True"),
    ({"name": 3}, "name: expected str, got 3"),
    ({"params": 3}, "params: expected mapping, got 3"),
    ({"folder": 3}, "folder: expected path, got 3"),
    ({"inner": 3}, "inner: expected mapping for Inner, got 3"),
    ({"extra": {"start": 1.5}}, "extra.start: expected float in [0, 1), got 1.5"),
    ({"mode": 1.5}, "mode: expected int or str, got 1.5"),
    ({"limit": 0}, "limit: expected int > 0, got 0"),
    ({"cont": 1}, ("cont: unknown key (did you mean 'count'?); expected one of: count, size, "
                   "flag, lr, name, params, folder, inner, extra, limit, mode, seed")),
    ({"inner": {"strat": 0.1}},
     "inner.strat: unknown key (did you mean 'inner.start'?); expected one of: start"),
])
def test_a_wrong_key_or_value_names_key_value_and_expectation(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(Sample, {"count": 1, **data})
    assert str(info.value) == message


def test_a_missing_required_key_names_its_type() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(Sample, {})
    assert str(info.value) == "count: missing required key (int)"


def test_values_are_converted_to_the_declared_types() -> None:
    config = from_mapping(Sample, {"count": 2, "lr": 1, "folder": "a/b", "limit": None,
                                   "size": [3, 4], "extra": {"start": 0}, "seed": 3})
    assert type(config.lr) is float and config.lr == 1.0
    assert config.folder == Path("a/b") and config.size == (3, 4) and config.limit is None
    assert config.extra == Inner(start=0.0)
    assert to_dict(config)["size"] == [3, 4] and to_dict(config)["folder"] == "a/b"
    assert validate(config) == config  # every field kept (neural runs re-check theirs)


def test_validate_checks_a_replaced_value_naming_its_key() -> None:
    import dataclasses

    bad = dataclasses.replace(from_mapping(Sample, {"count": 1}), limit=-1)
    with pytest.raises(ConfigError, match=r"^cfg\.limit: expected int > 0, got -1$"):
        validate(bad, prefix="cfg")


def test_seeds_are_integers_below_two_to_the_32() -> None:
    check_seeds([0, 2**32 - 1])
    check_seeds(7)
    for bad in (2**32, -1, True, 1.0):
        with pytest.raises(ConfigError) as info:
            check_seeds([0, bad], "--seeds")
        assert str(info.value) == f"--seeds: expected integers in [0, 2**32), got {bad!r}"


@pytest.mark.parametrize(("annotation", "value", "expected"), [
    (dict, 3, "mapping"), (list, 3, "list"), (tuple, "ab", "tuple")])
def test_a_bare_container_annotation_is_checked(annotation, value, expected):
    """``p: dict`` is checked as ``dict[str, Any]`` is (it was passed through unchecked)."""
    fields = [("p", annotation, dataclasses.field(default=None))]
    config = dataclasses.make_dataclass("Bare", fields, frozen=True)
    with pytest.raises(ConfigError, match=f"p: expected {expected}"):
        from_mapping(config, {"p": value})


@pytest.mark.parametrize("command", ["neural", "pretrain"])
def test_a_single_seed_of_a_config_or_option_is_below_two_to_the_32(command, tmp_path) -> None:
    """``seed`` (one run) is held to the range ``seeds`` is: NumPy generators take no more."""
    from click.testing import CliRunner

    from mtneuro.cli.main import cli
    from mtneuro.tasks.neural import NeuralConfig
    from mtneuro.tasks.pretrain.config import PretrainConfig

    config = {"neural": lambda seed: NeuralConfig(data="chewie-1", seed=seed),
              "pretrain": lambda seed: PretrainConfig(seed=seed)}[command]
    assert config(2**32 - 1).seed == 2**32 - 1
    for bad in (2**32, -1):
        with pytest.raises(ConfigError) as info:
            config(bad)
        assert str(info.value) == f"seed: expected int in [0, 2**32), got {bad}"
    with pytest.raises(ConfigError, match="seed: expected int, got True"):
        config(True)
    data = ["--data", "chewie-1"] if command == "neural" else ["--quick"]
    out = CliRunner().invoke(cli, [command, *data, "--seed", str(2**32),
                                   "--out", str(tmp_path / "run")])
    assert out.exit_code == 2 and "0<=x<=4294967295" in out.output
    assert not (tmp_path / "run").exists()
