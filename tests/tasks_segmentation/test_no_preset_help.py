"""``mtneuro task2 --help`` says what runs with neither ``--quick`` nor ``--paper`` (an audit:
the bare defaults, hours on a CPU, were named nowhere); its numbers are the config's."""

from __future__ import annotations

import re

from click.testing import CliRunner

from mtneuro.cli.main import cli
from mtneuro.tasks.segmentation.config import TrainSettings


def test_the_help_states_the_defaults_that_run_without_a_preset():
    text = " ".join(CliRunner().invoke(cli, ["task2", "--help"]).output.split())
    said = re.search(r"Neither --quick nor --paper: our full-size defaults \((.*?)\), hours", text)
    assert said is not None, text
    defaults = TrainSettings()
    assert said.group(1) == (
        f"whole tiles, all slices, {defaults.epochs} epochs, {defaults.optimizer.replace('w', 'W')}"
        f" lr {defaults.lr:.0e} with {defaults.schedule} decay, weight decay "
        f"{defaults.weight_decay:.0e}, random flips and 90-degree turns"
    ).replace("e-0", "e-").replace("adamW", "AdamW")
    assert defaults.augment and defaults.crop == 256
