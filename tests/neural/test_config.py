"""NeuralConfig validation and per-kind defaults."""

import pytest

from mtneuro.config import from_mapping
from mtneuro.errors import ConfigError
from mtneuro.tasks.neural import KIND_DEFAULTS, NeuralConfig, resolve


def test_kind_defaults_fill_only_unset_fields():
    cfg = from_mapping(NeuralConfig, {"data": "x", "steps": 7})
    reach, sleep = resolve(cfg, "reach"), resolve(cfg, "sleep")
    assert reach.steps == sleep.steps == 7
    assert reach.split == "trial" and sleep.split == "block"
    assert reach.pos_window == KIND_DEFAULTS["reach"]["pos_window"]
    assert sleep.mine_exclude == "150" and reach.mine_exclude == "trial"


@pytest.mark.parametrize("key,value,expected", [
    ("method", "simclr", "method"),
    ("mined_weight", 1.5, "mined_weight"),
    ("mine_exclude", "near", "mine_exclude"),
    ("stepz", 3, "steps"),
])
def test_bad_values_name_the_key(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        from_mapping(NeuralConfig, {"data": "x", key: value})


@pytest.mark.parametrize(("data", "split", "kind", "valid"), [
    ("chewie-1", "block", "reach", "trial, kfold"),
    ("mouse-ca1", "trial", "sleep", "block, random"),
    ("my/recording.npz", "random", "reach or classes", "trial, kfold"),  # kind not read yet
    ("rates_fr_bins.npy", "kfold", "sleep", "block, random"),
])
def test_a_split_the_recording_cannot_take_fails_when_the_config_is_made(data, split, kind,
                                                                         valid):
    with pytest.raises(ConfigError) as info:
        NeuralConfig(data=data, split=split)
    assert str(info.value) == (f"split: expected one of {valid} for a {kind} recording, "
                               f"got {split!r}")


@pytest.mark.parametrize(("data", "split"), [("chewie-1", "kfold"), ("mouse-ca1", "random"),
                                             ("chewie-1", "auto"), ("a_folder", "block")])
def test_a_split_the_recording_takes_or_one_known_only_from_its_files_is_kept(data, split):
    assert NeuralConfig(data=data, split=split).split == split


def test_mining_by_trial_in_a_sleep_recording_is_refused_before_training():
    # one long trial: excluding the anchor's trial leaves MYOW nothing to mine (it failed
    # with a traceback after the BYOL phase)
    config = from_mapping(NeuralConfig, {"data": "own-recording", "method": "myow",
                                         "mine_exclude": "trial"})
    with pytest.raises(ConfigError, match=r"^mine_exclude: 'trial' excludes every bin of a "
                                          r"sleep recording .* \(the sleep default is 150\)"):
        resolve(config, "sleep")
    assert resolve(config, "reach").mine_exclude == "trial"
    byol = from_mapping(NeuralConfig, {"data": "own-recording", "method": "byol",
                                       "mine_exclude": "trial"})
    assert resolve(byol, "sleep").mine_exclude == "trial"  # BYOL mines nothing: no matter


def test_the_card_names_every_setting_other_than_the_defaults():
    # a tuned run must not read like the default one its rows are compared with
    from mtneuro.tasks.protocol import neural_card

    def changed(**values):
        deviations = neural_card(from_mapping(NeuralConfig, {"data": "chewie-1", **values}))
        return [d for d in deviations["deviations"] if d.startswith("settings other")]

    assert changed() == [] and changed(method="byol", seed=3, split="kfold") == []
    assert changed(mined_weight=0.3, hidden=[128, 128], knn_k=5) == [
        "settings other than mtneuro's defaults: hidden (128, 128) (default (64, 64, 64)), "
        "mined_weight 0.3 (default 0.5)"]
    # a kind default given explicitly is no change; another value is
    assert changed(dropout_p=0.2) == []
    assert changed(dropout_p=0.5) == [
        "settings other than mtneuro's defaults: dropout_p 0.5 (default 0.2)"]


@pytest.mark.parametrize("hidden", [[128, -1], [], [0]])
def test_hidden_widths_must_be_positive(hidden):
    with pytest.raises(ConfigError, match=r"^hidden: expected a list of widths, each int >= 1"):
        from_mapping(NeuralConfig, {"data": "chewie-1", "hidden": hidden})


def test_seeds_says_how_several_seeds_run():
    """``seed`` here, ``seeds`` in the image tasks' configs: a neural run is one seed."""
    from mtneuro.tasks.registry import get_task

    with pytest.raises(ConfigError) as caught:
        get_task("neural").make_config("quick", {"data": "chewie-1", "seeds": [0, 1]})
    assert str(caught.value).startswith(
        "seeds: unknown key (did you mean 'seed'?): a neural run is one seed; several seeds are "
        "several runs, one per seed: mtneuro.evaluate(seeds=[...]), a suite's seeds: or "
        "mtneuro neural --seeds; expected one of: data, ")
