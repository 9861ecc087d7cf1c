"""``--seeds``'s help names what a command runs without it: task 1 and task 3 run three
seeds, task 2 and neural one, so a bare command's cost is not left to guess (docwalk)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mtneuro.cli.main import cli
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.region_config import Task1Config
from mtneuro.tasks.segmentation.config import Task2Config
from mtneuro.tasks.semantic_config import Task3Config


@pytest.mark.parametrize(("command", "default"), [
    ("task1", " ".join(map(str, Task1Config().seeds))),
    ("task2", " ".join(map(str, Task2Config().seeds))),
    ("task3", " ".join(map(str, Task3Config().seeds))),
    ("neural", f"--seed ({NeuralConfig.__dataclass_fields__['seed'].default},"),
])
def test_the_seeds_help_names_the_default(command, default):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # click wraps the help text
    assert f"one run each. Default: {default}" in text
