"""Settings a neural run leaves unused, or uses in part, are named (once) as it starts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from mtneuro.tasks.neural.config import NeuralConfig, resolve
from mtneuro.tasks.neural.task import quick_preset
from mtneuro.tasks.neural.unused import given_settings, unused_settings


def _lines(kind: str = "reach", n_train: int | None = None, **values: object) -> list[str]:
    return unused_settings(NeuralConfig(data="x", **values), kind, n_train)


def test_defaults_and_settings_the_run_uses_are_not_named() -> None:
    assert given_settings(NeuralConfig(data="x"), "reach") == []
    assert given_settings(NeuralConfig(data="x", guard=5, seed=3), "reach") == ["seed", "guard"]
    # a resolved config's kind defaults, or a default given explicitly, are not "given"
    assert given_settings(resolve(NeuralConfig(data="x", method="pca"), "sleep"), "sleep") == []
    assert given_settings(NeuralConfig(data="x", guard=2), "reach") == []
    assert _lines() == []
    assert _lines("sleep") == []
    assert _lines(method="byol", lr=1e-3, head_hidden=64, ema_start=0.99) == []
    assert _lines(method="supervised", lr=1e-3, dropout_p=0.1) == []
    assert _lines(method="pca", rep_dim=16) == []
    assert _lines("sleep", split="block", guard=5) == []
    assert _lines(split="kfold", folds=4) == []


@pytest.mark.parametrize(("values", "kind", "expected"), [
    ({"guard": 4}, "reach", ["guard not used: only split block has a guard gap (this run: trial)"]),
    ({"guard": 4, "split": "random"}, "sleep",
     ["guard not used: only split block has a guard gap (this run: random)"]),
    ({"folds": 4}, "reach", ["folds not used: only split kfold has folds (this run: trial)"]),
    ({"method": "raw", "steps": 5, "rep_dim": 8, "knn_k": 3}, "reach",
     ["steps, knn_k not used: method raw trains nothing",
      "rep_dim not used: method raw has no representation size"]),
    ({"method": "pca", "epochs": 2, "refit_ensemble": False}, "reach",
     ["epochs, refit_ensemble not used: method pca trains nothing"]),
    ({"method": "supervised", "pos_window": 1, "mined_weight": 0.2}, "reach",
     ["pos_window, mined_weight not used: they are settings of self-supervised training "
      "(myow, byol)"]),
    ({"method": "byol", "knn_k": 3, "mine_exclude": "10"}, "sleep",
     ["knn_k, mine_exclude not used: they are settings of MYOW's mining"]),
])
def test_each_unused_group_is_named_with_why(values: dict, kind: str,
                                             expected: list[str]) -> None:
    assert _lines(kind, **values) == expected


def test_knn_k_at_or_above_the_batch_is_named() -> None:
    assert _lines(knn_k=511) == []
    expected = ("knn_k 512 is at least the batch (512 anchors): MYOW picks at random among "
                "every candidate of the batch, not among near ones")
    assert _lines(knn_k=512) == [expected]
    # the batch is capped at the training bins
    assert _lines(n_train=100, knn_k=99) == []
    assert _lines(n_train=100, knn_k=100)[0].startswith("knn_k 100 is at least the batch (100 ")


def test_a_mined_weight_ramp_cut_short_is_named_with_the_weight_it_reaches() -> None:
    # reach: starts at 30% of the steps, ramps over 100 steps to 0.5
    assert _lines(steps=143) == []  # ends at 42 + 100 = 142 <= 143
    assert _lines(steps=100) == [
        "MYOW's mined-loss ramp ends at step 130, after its 100 steps: the mined weight reaches "
        "0.34 of 0.5 (give more steps, or a smaller mined_warmup_steps or mined_start)"]
    assert _lines(steps=100, mined_warmup_steps=0) == []
    assert _lines(steps=100, mined_weight=0.0) == []
    # epochs: the steps are known with the training bins (2 epochs of 4 batches of 512)
    assert _lines(epochs=2) == []
    assert _lines(epochs=2, n_train=2048)[0].startswith("MYOW's mined-loss ramp ends at step 102,"
                                                        " after its 8 steps")


def test_quick_caps_the_steps_of_trained_methods_only() -> None:
    assert quick_preset({"method": "myow"}) == {"steps": 400}
    assert quick_preset({}) == {"steps": 400}
    assert quick_preset({"method": "myow", "epochs": 3}) == {}
    for method in ("pca", "raw", "encoder"):
        assert quick_preset({"method": method}) == {}


def test_the_quick_preset_of_a_method_that_trains_nothing_warns_of_nothing(
        tmp_path: Path) -> None:
    from mtneuro.tasks.registry import get_task

    task = get_task("neural")
    config = task.make_config("quick", {"data": "chewie-1", "method": "pca"})
    assert config.steps is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task.execute(config)


def test_the_card_names_unused_settings_apart_from_changed_ones() -> None:
    from mtneuro.tasks.protocol import neural_card

    card = neural_card(NeuralConfig(data="chewie-1", method="byol", mined_weight=0.3,
                                    hidden=(32,), steps=100))
    lines = card["deviations"]
    assert "settings other than mtneuro's defaults: hidden (32,) (default (64, 64, 64))" in lines
    # an unused setting changes nothing: a note, not a deviation
    assert card["notes"] == ["mined_weight not used: they are settings of MYOW's mining"]
    assert not any("mined_weight" in line for line in lines)
    myow = neural_card(NeuralConfig(data="chewie-1", steps=100))["deviations"]
    assert any(line.startswith("MYOW's mined-loss ramp ends at step 130") for line in myow)


def test_the_card_of_a_run_names_no_setting_nobody_gave() -> None:
    # the card is made from the run's resolved config: its kind defaults were not given
    from mtneuro.tasks.protocol import neural_card

    for method in ("pca", "raw", "byol", "supervised", "myow"):
        resolved = resolve(NeuralConfig(data="chewie-1", method=method), "reach")
        card = neural_card(resolved)
        lines = card["deviations"] + card["notes"]
        assert not any("not used" in line or "settings other" in line for line in lines), lines
    given = resolve(NeuralConfig(data="chewie-1", method="pca", guard=5), "reach")
    assert neural_card(given)["notes"] == [
        "guard not used: only split block has a guard gap (this run: trial)"]


def test_a_ramp_that_reaches_full_weight_only_after_the_last_step_is_named() -> None:
    # reach: start at int(0.3 * 142) = 42, full weight first at step 142: the last is 141
    assert _lines(steps=142)[0].startswith("MYOW's mined-loss ramp ends at step 142, after its "
                                           "142 steps: the mined weight reaches 0.49 of 0.5")
