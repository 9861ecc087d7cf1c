"""Task configs check their values where they are built (directly, by ``dataclasses.replace``
or by ``from_mapping``), with ``from_mapping``'s rules, conversions and messages."""

import dataclasses
from pathlib import Path

import pytest

from mtneuro.bench.suite import DDPOptions, GridEntry, Suite
from mtneuro.config import from_mapping
from mtneuro.errors import ConfigError
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.pretrain.config import PretrainConfig
from mtneuro.tasks.region_config import Task1Config
from mtneuro.tasks.segmentation.config import Task2Config, TrainSettings
from mtneuro.tasks.semantic_config import Task3Config

ENTRY = {"task": "task1", "setting": "roi-c1", "methods": ("pca",)}

BAD_VALUES = [
    (Task2Config, {"classes": 5}, "classes: expected one of 3, 4, got 5"),
    (Task2Config, {"overlap": 1.5}, "overlap: expected float in [0, 1), got 1.5"),
    (Task2Config, {"train_z_step": 2.0}, "train_z_step: expected int, got 2.0"),
    (TrainSettings, {"lr": 0}, "lr: expected float > 0, got 0"),
    (NeuralConfig, {"data": "chewie-1", "lr": -1}, "lr: expected float > 0, got -1"),
    (NeuralConfig, {"data": 3}, "data: expected str, got 3"),
    (Task1Config, {"seeds": []}, "seeds: expected at least one seed, none twice, got []"),
    (Task1Config, {"quick": "yes"}, "quick: expected bool, got 'yes'"),
    (Task3Config, {"cv": 1}, "cv: expected int >= 2, got 1"),
    (PretrainConfig, {"device": "gpu"},
     "device: expected 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    (PretrainConfig, {"momentum": float("nan")}, "momentum: expected a finite float, got nan"),
    (DDPOptions, {"nproc_per_node": 0}, "nproc_per_node: expected int >= 1, got 0"),
    (GridEntry, {**ENTRY, "methods": ()}, "methods: expected at least one method, got ()"),
    (Suite, {"name": " ", "grid": (GridEntry(**ENTRY),)},
     "name: expected a non-empty name, got ' '"),
]


@pytest.mark.parametrize(("cls", "values", "message"), BAD_VALUES,
                         ids=[f"{c.__name__}-{m.split(':')[0]}" for c, _, m in BAD_VALUES])
def test_a_bad_value_is_refused_where_the_config_is_built_as_from_a_mapping(cls, values, message):
    with pytest.raises(ConfigError) as direct:
        cls(**values)
    with pytest.raises(ConfigError) as mapped:
        from_mapping(cls, values)
    assert str(direct.value) == str(mapped.value) == message


def test_replace_is_checked():
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(Task2Config(), overlap=1.5)
    assert str(err.value) == "overlap: expected float in [0, 1), got 1.5"
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(NeuralConfig(data="chewie-1"), weight_decay=-1.0)
    assert str(err.value) == "weight_decay: expected float >= 0, got -1.0"
    assert dataclasses.replace(Task1Config(), seeds=[5]).seeds == (5,)


def test_values_are_converted_as_from_a_mapping():
    seeds = Task1Config(seeds=[3, 4]).seeds
    assert seeds == (3, 4) and isinstance(seeds, tuple)
    assert NeuralConfig(data="chewie-1", hidden=[8, 8]).hidden == (8, 8)
    assert NeuralConfig(data="chewie-1", data_root="data").data_root == Path("data")
    overlap = Task2Config(overlap=0).overlap
    assert overlap == 0.0 and isinstance(overlap, float)
    assert PretrainConfig(out_dir="runs/x").out_dir == Path("runs/x")
    assert Suite(name="s", grid=[GridEntry(**ENTRY)]).grid == (GridEntry(**ENTRY),)


def test_a_good_config_built_directly_equals_the_one_from_a_mapping():
    values = {"model": "unet", "classes": 3, "seeds": [0, 1], "overlap": 0, "window": 128,
              "source_params": {"seed": 2}, "train": {"epochs": 2, "lr": 0.5}}
    direct = Task2Config(**values)
    assert direct == from_mapping(Task2Config, values)
    assert direct.train == TrainSettings(epochs=2, lr=0.5)
    assert (direct.model, direct.classes, direct.window) == ("unet", 3, 128)
    assert Task2Config() == from_mapping(Task2Config, {})


def test_nested_messages_keep_their_prefix():
    # from_mapping's messages name the nested key, as before; a nested mapping given
    # directly is built by from_mapping, so its message names it the same way
    with pytest.raises(ConfigError) as mapped:
        from_mapping(Task2Config, {"train": {"lr": -1}})
    with pytest.raises(ConfigError) as direct:
        Task2Config(train={"lr": -1})
    assert str(direct.value) == str(mapped.value) == "train.lr: expected float > 0, got -1"
    with pytest.raises(ConfigError) as mapped:
        from_mapping(Task1Config, {"pretrain": {"epochs": 0}}, prefix="cell")
    assert str(mapped.value) == "cell.pretrain.epochs: expected int > 0, got 0"
    with pytest.raises(ConfigError) as direct:
        Task1Config(pretrain={"epochs": 0})
    assert str(direct.value) == "pretrain.epochs: expected int > 0, got 0"


def test_neural_config_still_checks_its_split_after_its_fields():
    with pytest.raises(ConfigError, match="split: expected one of trial, kfold for a reach"):
        NeuralConfig(data="chewie-1", split="block")
    with pytest.raises(ConfigError) as err:
        NeuralConfig(data="chewie-1", split="trial", folds=2)
    assert str(err.value) == "folds: expected int >= 3, got 2"
