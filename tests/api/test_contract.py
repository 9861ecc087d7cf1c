"""The task contract: presets set one way (preset < YAML < values), results round-trip
through ``metrics.json`` (schema 2; schema-1 files read), hooks named by string."""

from __future__ import annotations

import json
import warnings

import pytest
from toy_task import TOY, ToyConfig

from mtneuro.errors import ConfigError
from mtneuro.tasks.api import SCHEMA_VERSION, Result, merge
from mtneuro.tasks.registry import get_task


def test_preset_then_yaml_then_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: 40\nsetting: hard\n")
    assert TOY.make_config("quick") == ToyConfig(n=32)
    assert TOY.make_config("quick", config_file=path) == ToyConfig(n=40, setting="hard")
    assert TOY.make_config("quick", {"n": 8, "setting": None}, path) == ToyConfig(n=8, setting="hard")
    with pytest.raises(ConfigError, match="unknown toy preset 'fast'"):
        TOY.make_config("fast")
    with pytest.raises(ConfigError, match="n: expected int >= 4, got 2"):
        TOY.make_config(None, {"n": 2})


def test_nested_values_merge_key_by_key_and_drop_none():
    assert merge({"a": 1, "train": {"lr": 1, "epochs": 5}}, {"a": None, "train": {"epochs": 2, "lr": None}}) == {
        "a": 1, "train": {"lr": 1, "epochs": 2}}


def test_task2_presets_follow_the_models_dimension():
    task2 = get_task("task2")
    assert task2.make_config("quick", {"model": "vnet"}).train.crop == 64
    assert task2.make_config("quick", {"model": "unet", "train": {"crop": 96}}).train.crop == 96
    assert task2.make_config("paper", {"model": "unet"}).train.amp == "none"


def test_a_preset_follows_the_model_a_config_file_names(tmp_path):
    # the quick preset once saw the command's values only: a file's 3D model got 2D values
    path = tmp_path / "t2.yaml"
    path.write_text("model: unet3d\n")
    task2 = get_task("task2")
    from_file = task2.make_config("quick", {"model": None}, path)
    assert from_file == task2.make_config("quick", {"model": "unet3d"})
    assert from_file.train.crop == 64


def test_nested_pretraining_is_resolved_once_with_the_task_fields():
    task1 = get_task("task1")
    config = task1.make_config("quick", {"method": "myow", "seeds": [3],
                                         "source_params": {"seed": 2}, "pretrain": {"epochs": 2}})
    pre = config.pretrain
    assert (pre.method, pre.epochs, pre.seed, pre.crop, pre.source_params) == ("myow", 2, 3, 32,
                                                                               {"seed": 2})
    with pytest.warns(UserWarning, match=r"^pretrain.epochs not used: method pca pre-trains "
                      r"nothing on the fly$"):
        pca = task1.make_config(None, {"method": "pca", "pretrain": {"epochs": 2}})
    assert pca.pretrain is None
    with pytest.warns(UserWarning, match=r"^pretrain.epochs, pretrain.base_lr not used: method "
                      r"byol with a given encoder pre-trains nothing on the fly$"):
        assert task1.make_config(None, {"method": "byol", "encoder": "x.pt", "pretrain": {
            "epochs": 2, "base_lr": 0.1, "batch_size": None}}).pretrain is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing given: nothing to warn about
        assert task1.make_config(None, {"method": "pca", "pretrain": {"epochs": None}}).pretrain \
            is None
    with pytest.raises(ConfigError, match=r"pretrain.method: set by the task \('myow'\), got 'byol'"):
        task1.make_config("quick", {"method": "myow", "pretrain": {"method": "byol"}})
    # each task seed pre-trains with itself: a pretrain.seed of its own would be recorded
    # but never used
    with pytest.raises(ConfigError, match=r"pretrain.seed: set by the task \(3\), got 5 \(the "
                       r"first of the task's seeds"):
        task1.make_config("quick", {"method": "myow", "seeds": [3, 4], "pretrain": {"seed": 5}})
    assert task1.make_config("quick", {"method": "myow", "seeds": [3, 4],
                                       "pretrain": {"seed": 3}}).pretrain.seed == 3
    with pytest.raises(ConfigError, match="pretrain.epochs: expected int > 0, got 0"):
        task1.make_config("quick", {"method": "myow", "pretrain": {"epochs": 0}})
    # a resolved config rebuilds to itself (the bench records and reloads plain values)
    from mtneuro.config import to_dict

    assert task1.make_config(None, to_dict(config)) == config


def test_result_round_trips_and_reads_schema_1_records(tmp_path):
    result = TOY.execute(TOY.make_config("quick", {"seeds": [0, 1]}))
    data = json.loads(json.dumps(result.to_json()))
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert Result.from_json(data).to_json() == data
    old = {"schema_version": 1, "task": "task1", "config": {"setting": "roi-c2", "method": "pca"},
           "metrics": {"accuracy": {"mean": 0.5, "std": 0.1, "n": 2}}, "source": None,
           "wall_s": 1.0, "protocol": {"name": "task1-paper", "version": 1}, "deviations": []}
    back = Result.from_json(old)
    assert (back.task, back.setting, back.method, back.headline) == (
        "task1", "roi-c2", "pca", {"accuracy": 0.5})
    assert back.card["deviations"] == []
    with pytest.raises(ConfigError, match="schema_version 3 is not supported"):
        Result.from_json({**old, "schema_version": 3})


@pytest.mark.parametrize(("task", "values"), [
    ("task1", {"method": "supervised"}), ("task3", {"method": "pca"}), ("task2", {"model": "unet"})])
def test_a_seed_given_twice_in_a_config_is_refused(task, values):
    """``seeds: [0, 0]`` reran seed 0 and reported "deterministic: identical over 2 seeds" for a
    method whose seeds move its accuracy; --seeds, evaluate() and bench already refused it."""
    with pytest.raises(ConfigError, match=r"^seeds: expected at least one seed, none twice, "
                                          r"got \[0, 0\]$"):
        get_task(task).make_config("quick", {**values, "seeds": [0, 0]})
