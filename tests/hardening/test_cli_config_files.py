"""A value in a command's ``--config`` file (task1, task3, neural) or ``--set`` (task2) is
used unless a flag is given: an option the user did not type has no default of its own that
would win over the file (it did: ``setting: roi-c3`` in a file ran roi-c1). The defaults the
help shows are the configs' own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cli_probe import invoke

from mtneuro.config import to_dict
from mtneuro.errors import ConfigError


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The configs the commands would run (each stops where its run would start)."""
    from mtneuro.report import record

    seen: list[dict[str, Any]] = []

    def stop(task: Any, config: Any, *_: Any, **__: Any) -> None:
        seen.append(to_dict(config))
        raise ConfigError("stopped where the run would start")

    monkeypatch.setattr(record, "run_and_record", stop)
    return seen


def _run(tmp_path: Path, args: list[str]) -> None:
    outcome = invoke([*args, "--out", "run"], tmp_path)
    assert outcome.err_lines[-1] == "error: stopped where the run would start", outcome.err


@pytest.mark.parametrize("command", ["task1", "task3"])
def test_a_config_file_sets_what_no_flag_gives(tmp_path: Path, configs: list, command: str
                                               ) -> None:
    (tmp_path / "c.yaml").write_text("method: pca\nsetting: roi-c3\nsource: slice\n"
                                     "device: auto\nseeds: [4]\n")
    _run(tmp_path, [command, "--quick", "--config", "c.yaml"])
    config = configs[-1]
    assert (config["method"], config["setting"], config["source"]) == ("pca", "roi-c3", "slice")
    assert (config["device"], config["seeds"]) == ("auto", [4])
    _run(tmp_path, [command, "--quick", "--config", "c.yaml", "--setting", "roi-c1",
                    "--method", "nmf", "--source", "phantom", "--device", "cpu"])
    config = configs[-1]  # flags win over the file
    assert (config["method"], config["setting"], config["source"], config["device"]) == (
        "nmf", "roi-c1", "phantom", "cpu")


def test_task1_dim_from_the_config_file(tmp_path: Path, configs: list) -> None:
    (tmp_path / "c.yaml").write_text("dim: 3d\n")
    _run(tmp_path, ["task1", "--method", "pca", "--quick", "--config", "c.yaml"])
    assert configs[-1]["dim"] == "3d"


def test_task2_set_pairs_are_used_where_no_flag_is_given(tmp_path: Path, configs: list) -> None:
    _run(tmp_path, ["task2", "--model", "unet", "--quick", "--set", "classes=3",
                    "--set", "source=bossdb", "--set", "device=cpu"])
    config = configs[-1]
    assert (config["classes"], config["source"], config["device"]) == (3, "bossdb", "cpu")
    _run(tmp_path, ["task2", "--model", "unet", "--quick", "--set", "classes=3",
                    "--classes", "4"])
    assert configs[-1]["classes"] == 4


@pytest.mark.parametrize("command", ["task1", "task3"])
def test_a_method_is_required_from_the_flag_or_the_file(tmp_path: Path, configs: list,
                                                        command: str) -> None:
    (tmp_path / "c.yaml").write_text("seeds: [0]\n")
    for extra in ([], ["--config", "c.yaml"]):
        outcome = invoke([command, "--quick", *extra, "--out", "run"], tmp_path)
        assert outcome.code == 2 and outcome.err == (
            "error: Missing option '--method' (or method: in the --config file). "
            f"(see mtneuro {command} --help)\n")
    assert configs == []


@pytest.mark.parametrize(("command", "config_name", "options"), [
    ("task1", "Task1Config", {"setting": "setting", "dim": "dim", "source": "source",
                              "device": "device"}),
    ("task2", "Task2Config", {"classes": "classes", "source": "source", "device": "device"}),
    ("task3", "Task3Config", {"setting": "setting", "source": "source", "device": "device"}),
])
def test_the_defaults_the_help_shows_are_the_configs(tmp_path: Path, command: str,
                                                     config_name: str, options: dict) -> None:
    import dataclasses

    from mtneuro.tasks.registry import get_task

    config_class = type(get_task(command).make_config(None, {"method": "pca"}
                                                      if command != "task2"
                                                      else {"model": "unet"}))
    assert config_class.__name__ == config_name
    defaults = {f.name: f.default for f in dataclasses.fields(config_class)}
    text = " ".join(invoke([command, "--help"], tmp_path).out.split())
    for option, key in options.items():
        shown = re.search(rf"--{option} \S+ .*?\[default: ([^\]]+)\]", text)
        assert shown is not None, option
        assert shown.group(1) == str(defaults[key]), (option, shown.group(1), defaults[key])


def test_neural_reads_its_config_file_and_flags_win(tmp_path: Path, configs: list) -> None:
    (tmp_path / "c.yaml").write_text("data: chewie-1\nmethod: byol\nseed: 3\nsplit: kfold\n"
                                     "lr: 0.001\nhidden: [32, 16]\nrefit: false\n")
    _run(tmp_path, ["neural", "--config", "c.yaml"])
    config = configs[-1]
    assert (config["data"], config["method"], config["seed"], config["split"]) == (
        "chewie-1", "byol", 3, "kfold")
    assert (config["lr"], config["hidden"], config["refit"]) == (0.001, [32, 16], False)
    _run(tmp_path, ["neural", "--config", "c.yaml", "--method", "raw", "--seed", "1",
                    "--split", "trial", "--refit"])
    config = configs[-1]
    assert (config["method"], config["seed"], config["split"], config["refit"]) == (
        "raw", 1, "trial", True)
    assert config["lr"] == 0.001  # what no flag sets stays the file's
    _run(tmp_path, ["neural", "--config", "c.yaml", "--seeds", "0", "1"])
    assert (configs[-1]["seed"], configs[-1]["lr"]) == (0, 0.001)  # the first of --seeds


def test_neural_quick_caps_the_steps_unless_a_length_is_given(tmp_path: Path, configs: list
                                                             ) -> None:
    from mtneuro.tasks.neural.config import QUICK_STEPS

    _run(tmp_path, ["neural", "--data", "chewie-1", "--quick"])
    assert (configs[-1]["steps"], configs[-1]["epochs"]) == (QUICK_STEPS, None)
    _run(tmp_path, ["neural", "--data", "chewie-1", "--quick", "--steps", "50"])
    assert configs[-1]["steps"] == 50
    _run(tmp_path, ["neural", "--data", "chewie-1"])
    assert configs[-1]["steps"] is None  # the kind's default, chosen when the data is read
    (tmp_path / "c.yaml").write_text("epochs: 2\n")
    _run(tmp_path, ["neural", "--data", "chewie-1", "--quick", "--config", "c.yaml"])
    assert configs[-1]["epochs"] == 2  # epochs win over steps in a run


def test_neural_data_is_required_from_the_flag_or_the_file(tmp_path: Path, configs: list
                                                          ) -> None:
    (tmp_path / "c.yaml").write_text("method: raw\n")
    for extra in ([], ["--config", "c.yaml"]):
        outcome = invoke(["neural", *extra, "--out", "run"], tmp_path)
        assert outcome.code == 2 and outcome.err == (
            "error: Missing option '--data' (or data: in the --config file). "
            "(see mtneuro neural --help)\n")
    assert configs == []


def test_neural_help_shows_the_configs_defaults(tmp_path: Path) -> None:
    from mtneuro.tasks.neural.config import NeuralConfig

    text = " ".join(invoke(["neural", "--help"], tmp_path).out.split())
    for option in ("method", "seed", "split", "folds"):
        shown = re.search(rf"--{option} \S+ .*?\[default: ([^\]]+)\]", text)
        assert shown is not None, option
        assert shown.group(1) == str(getattr(NeuralConfig, option)), option
    for switch in ("refit", "refit-ensemble"):
        default = getattr(NeuralConfig, switch.replace("-", "_"))
        shown = re.search(rf"--{switch} / --no-{switch} .*?\[default: ([^\]]+)\]", text)
        assert shown is not None and shown.group(1) == (switch if default else f"no-{switch}")
