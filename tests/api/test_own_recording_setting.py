"""A recording file of the user's is a neural setting wherever one is accepted: a user's
own rate encoder could be scored on a catalogued recording only (own-data walkthrough:
``tasks=["neural/<file>"]`` and a suite's ``setting: <file>`` were refused)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

import mtneuro
from mtneuro.bench.suite import check_grid, parse_suite
from mtneuro.errors import ConfigError
from mtneuro.tasks.registry import get_task


@pytest.fixture
def own_file(packaged_data: Path, tmp_path: Path) -> Path:
    """The packaged chewie-1 bytes as a file of the user's (not at a catalogued place)."""
    from mtneuro.data.neural import recording_paths

    (path,) = recording_paths("chewie-1", packaged_data)
    copy = tmp_path / "mine" / "day1.npz"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    return copy


def test_evaluate_scores_an_encoder_on_a_recording_file_of_the_users(own_file, tmp_path):
    encoder = nn.Sequential(nn.Linear(174, 4), nn.ReLU())
    out = tmp_path / "out"
    (row, *_) = mtneuro.evaluate(encoder, tasks=[f"neural/{own_file}"], out=out,
                                 params={"refit": False}).table()
    assert (row["setting"], row["data"]) == (str(own_file), "recording day1 (your file)")
    (cell,) = (out / "cells").iterdir()
    record = json.loads((cell / "metrics.json").read_text())
    assert record["cell"]["setting"] == str(own_file) and not record["source"]["catalogued"]
    assert "no reference run" in " ".join(record["deviations"])


def test_a_suite_takes_a_recording_file_as_a_neural_setting(own_file):
    def grid(setting: str) -> None:
        check_grid(parse_suite({"name": "own", "grid": [
            {"task": "neural", "setting": setting, "methods": ["raw"], "seeds": [0]}]}))

    grid(str(own_file))
    with pytest.raises(ConfigError, match=r"^suite: grid\[0\]\.setting: unknown neural setting "
                                          r"'.*nothere\.npz'; valid: chewie-1, .*; or the path "
                                          r"of a recording file of yours .*not found\)$"):
        grid(str(own_file.parent / "nothere.npz"))


def test_a_name_outside_the_catalogue_is_told_the_names_once():
    with pytest.raises(ConfigError) as info:
        get_task("neural").check_setting("chewie9")
    message = str(info.value)
    assert message.startswith("unknown neural setting 'chewie9' (did you mean")
    assert message.endswith("or the path of a recording file of yours (a reach or classes "
                            ".npz, a rodent .npy pair)")
    assert message.count("valid:") == 1
    # a task without own_setting keeps its closed list
    with pytest.raises(ConfigError, match=r"^unknown task1 setting"):
        get_task("task1").check_setting(str(Path("rec.npz")))
