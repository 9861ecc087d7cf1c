"""The rules of task 2's finished-run check, one by one, without training a model: which
keys it judges (both sides must have them; settings that only say where and how fast a run
computes are free, with every key inside them), and which records it judges (task-2 ones)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtneuro.errors import ConfigError
from mtneuro.tasks.api import to_jsonable
from mtneuro.tasks.segmentation.config import Task2Config
from mtneuro.tasks.segmentation.finished_run import (
    RunFinished,
    changed_settings,
    check_finished_run,
)


def test_a_key_one_record_lacks_is_not_judged() -> None:
    # a record written before "overlap" existed, resumed now that it does
    assert changed_settings({"lr": 0.1}, {"lr": 0.1, "overlap": 0.5}) == []
    assert changed_settings({"lr": 0.1, "old": 1}, {"lr": 0.1}) == []
    assert changed_settings({"lr": 0.1}, {"lr": 0.2, "overlap": 0.5}) == [("lr", 0.1, 0.2)]


def test_every_key_inside_a_free_setting_is_free() -> None:
    recorded = {"source_params": {"seed": 0, "shape": [8, 64, 64]}, "seeds": [0]}
    now = {"source_params": {"seed": 1, "shape": [8, 32, 32]}, "seeds": [0]}
    assert changed_settings(recorded, now) == []
    # train.retain_cpu_memory is free; the other training keys are not
    recorded = {"train": {"retain_cpu_memory": True, "lr": 0.1}}
    assert changed_settings(recorded, {"train": {"retain_cpu_memory": False, "lr": 0.1}}) == []
    assert changed_settings(recorded, {"train": {"retain_cpu_memory": True, "lr": 0.3}}) == [
        ("train.lr", 0.1, 0.3)]


def _record(folder: Path, task: str, config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps({"task": task, "config": config}))


def test_only_a_task2_record_is_judged(tmp_path: Path) -> None:
    config = Task2Config(seeds=[0])
    other = {**to_jsonable(config), "seeds": [5]}
    _record(tmp_path / "t1", "task1", other)  # another task's record: not a finished task-2 run
    check_finished_run(config, tmp_path / "t1")
    _record(tmp_path / "t2", "task2", other)
    with pytest.raises(ConfigError, match=r"seeds was \[5\], now \[0\]"):
        check_finished_run(config, tmp_path / "t2")
    _record(tmp_path / "same", "task2", to_jsonable(config))
    with pytest.raises(RunFinished):
        check_finished_run(config, tmp_path / "same")
