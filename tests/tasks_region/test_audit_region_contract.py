"""Known answers for the task plumbing task 1 runs through (mutation audit of
mtneuro.tasks.api, registry, protocol and vision_eval): configs of the wrong type, resumes of
tasks without checkpoints, file-named errors only for the file's own values, non-finite
headlines, in-memory artefacts kept out of the record, task registration and
``<task>/<setting>`` names, the data and pre-training sentences of protocol cards, and the
cosine kNN vote."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.tasks import registry
from mtneuro.tasks.api import Result, Task, merge
from mtneuro.tasks.protocol import card, data_deviations, pretraining_deviations
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.registry import (
    get_task,
    list_tasks,
    register_task,
    split_task_setting,
    task_names,
    unregister_task,
)
from mtneuro.tasks.vision_eval import knn_accuracy


@dataclass(frozen=True)
class _Config:
    setting: str = "a"
    method: str = "m"
    n: int = field(default=8, metadata={"check": (lambda v: v >= 4, "int >= 4")})


def _run(config: _Config, *, encoder: Any = None) -> Result:
    return _TASK.result(config, setting=config.setting, method=config.method,
                        metrics={"score": {"mean": float(config.n)}}, source=None)


_TASK = Task(name="audit-toy", title="audit toy", config=_Config, run=_run,
             card=lambda config, source=None: card("audit-toy", 1, []),
             headline=lambda metrics: {"score": metrics["score"]["mean"]},
             settings=("a", "b"), volume=False)


@pytest.fixture
def toy():
    register_task(_TASK)
    yield _TASK
    unregister_task(_TASK.name)


# -- running a task (api.Task) ----------------------------------------------------------------
def test_a_config_of_another_task_or_a_resume_without_checkpoints_is_refused():
    assert _TASK.execute(_Config(n=5)).metrics == {"score": {"mean": 5.0}}
    with pytest.raises(ConfigError, match=r"^task audit-toy: expected a _Config, got dict$"):
        _TASK.execute({"n": 5})
    with pytest.raises(ConfigError, match="task audit-toy: cannot resume"):
        _TASK.execute(_Config(), resume=True)


def test_an_unknown_encoder_kind_is_refused_when_the_task_is_declared():
    with pytest.raises(ConfigError, match="unknown task audit-toy encoder kind 'audio'"):
        Task(name="audit-toy", title="t", config=_Config, run=_run, card=None,
             headline=None, encoder="audio")


def test_only_a_bad_value_the_file_sets_is_prefixed_with_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: n: expected int >= 4, got 2$"):
        _TASK.make_config(None, None, path)
    # a value given beside the file replaces the file's: the error is the value's own
    with pytest.raises(ConfigError) as err:
        _TASK.make_config(None, {"n": 3}, path)
    assert str(err.value) == "n: expected int >= 4, got 3"


def test_nested_values_over_a_non_mapping_fail_unless_they_are_all_unset():
    with pytest.raises(ConfigError, match=r"^pretrain: expected a mapping of settings, got 7$"):
        merge({"pretrain": 7}, {"pretrain": {"epochs": 2}})
    assert merge({"pretrain": 7}, {"pretrain": {"epochs": None}}) == {"pretrain": 7}


def test_non_finite_headlines_are_none_and_artefacts_stay_out_of_the_metrics():
    assert TASK1.headline_of({"accuracy": {"mean": math.nan}}) == {"accuracy": None}
    assert TASK1.headline_of({"accuracy": {"mean": 0.5}}) == {"accuracy": 0.5}
    config = TASK1.make_config(None, {"method": "pca"})
    out = {"accuracy": {"mean": 0.5}, "pred": [1, 2], "source": None, "wall_s": 2.0,
           "config": {}}
    result = TASK1.from_run(config, out, artefacts=("pred",))
    assert result.metrics == {"accuracy": {"mean": 0.5}}
    assert result.artefacts == {"pred": [1, 2]} and result.wall_s == 2.0


def test_a_record_without_a_task_is_refused():
    with pytest.raises(ConfigError, match=r"^metrics.json: no 'task' key$"):
        Result.from_json({"schema_version": 2, "metrics": {}})


# -- the registry -----------------------------------------------------------------------------
def test_a_task_registers_once_and_is_listed_with_its_settings(toy):
    assert task_names()[:4] == ["task1", "task2", "task3", "neural"]
    assert task_names()[-1] == "audit-toy" and get_task("audit-toy") is toy
    assert list_tasks("audit-toy/*") == ["audit-toy/a", "audit-toy/b"]
    with pytest.raises(ValueError, match="task 'audit-toy' is already registered"):
        register_task(toy)
    assert register_task(toy, replace=True) is toy


def test_a_registry_line_that_names_no_task_is_refused(monkeypatch):
    monkeypatch.setitem(registry.TASKS, "bad", "mtneuro.tasks.api:SCHEMA_VERSION")
    with pytest.raises(ConfigError, match=r"task 'bad': mtneuro.tasks.api:SCHEMA_VERSION is not a "
                                          r"Task"):
        get_task("bad")


@pytest.mark.parametrize("name, message", [
    ("task1/", r"task 'task1/': expected '<task>/<setting>', e.g. 'task1/roi-c1'"),
    ("task1", r"task 'task1': expected '<task>/<setting>', e.g. 'task1/roi-c1'"),
    ("task9/roi-c1", (r"unknown task 'task9' \(did you mean .*\); valid: task1, task2, task3, "
                      r"neural$")),
    ("task1/roi-c4", r"unknown task1 setting 'roi-c4'")])
def test_task_setting_names_are_checked_part_by_part(name, message):
    with pytest.raises(ConfigError, match=message):
        split_task_setting(name)
    assert split_task_setting("task1/roi-c3") == (get_task("task1"), "roi-c3")


# -- protocol cards (protocol) ----------------------------------------------------------------
def test_a_cache_is_judged_by_the_source_that_filled_it():
    phantom = data_deviations({"source": "cache", "upstream": {"source": "phantom"}})
    assert phantom == [("data: the synthetic phantom volume, not the real one (BossDB prasad2020)"
                        " (read through a local cache)")]
    assert data_deviations({"source": "cache", "upstream": {"source": "bossdb"}}) == []
    assert data_deviations("bossdb", "roi-c1") == []


def test_byol_pretraining_is_not_judged_by_myows_mined_view_settings():
    values = {"method": "byol", "source": "bossdb", "pretrain": {"mined_weight": 0.5}}
    byol = pretraining_deviations(TASK1.make_config(None, values))
    assert not any("mined" in d for d in byol)
    myow = pretraining_deviations(TASK1.make_config(None, {**values, "method": "myow"}))
    assert any(d.startswith("pre-training mined_weight 0.5 (reference 0.1") for d in myow)
    # backbone "auto" is the reference's ResNet-18 on a 2D run: not a deviation
    auto = TASK1.make_config(None, {**values, "pretrain": {"backbone": "auto"}})
    assert not any("backbone" in d for d in pretraining_deviations(auto))


# -- kNN (vision_eval) ------------------------------------------------------------------------
def test_knn_votes_by_cosine_similarity_not_by_dot_product():
    # a long class-0 vector wins every dot product; by angle the test point is class 1's
    train_x = torch.tensor([[10.0, 0.0], [0.5, 0.5]])
    train_y = torch.tensor([0, 1])
    test_x, test_y = torch.tensor([[1.0, 0.9]]), torch.tensor([1])
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=1) == 1.0
