"""Known answers for the neural task package found missing by a mutation audit: split
boundaries and refusals, config messages and kind defaults, the monitor's eligible steps,
interval grouping, and fit_neural on tiny synthetic recordings (no files read)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mtneuro.config import from_mapping
from mtneuro.data.neural import REACH_CLASSES, SLEEP_CLASSES, NeuralRecording
from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.neural import KIND_DEFAULTS, NeuralConfig, resolve
from mtneuro.tasks.neural import run as R
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.metrics import metric_intervals
from mtneuro.tasks.neural.task import headline, quick_preset, score_keys


def _reach(sizes: list[int], neurons: int = 6, seed: int = 0, noise: float = 1.0
           ) -> NeuralRecording:
    """Trials of the given lengths, target ``trial % 8``, rates tuned to the target angle."""
    rng = np.random.default_rng(seed)
    trial = np.repeat(np.arange(len(sizes)), sizes)
    label = trial % 8
    angle = label * np.pi / 4
    tuning = rng.normal(size=(2, neurons))
    rates = 10 + 3 * np.stack([np.cos(angle), np.sin(angle)], 1) @ tuning
    rates = rates + noise * rng.normal(size=rates.shape)
    return NeuralRecording(name="synthetic-reach", kind="reach", rates=rates.astype(np.float32),
                           trial=trial, timestep=np.zeros_like(trial), label=label, bin_s=0.1,
                           class_names=REACH_CLASSES)


def _sleep(n: int = 300, seed: int = 0) -> NeuralRecording:
    rng = np.random.default_rng(seed)
    label = np.repeat(rng.integers(0, 3, n // 10), 10)
    rates = rng.poisson(2.0 + 3.0 * np.eye(3, 5)[label]).astype(np.float32)
    return NeuralRecording(name="synthetic-sleep", kind="sleep", rates=rates,
                           trial=np.zeros(n, np.int64), timestep=np.arange(n), label=label,
                           bin_s=4.0, class_names=SLEEP_CLASSES)


@pytest.fixture
def loaded(monkeypatch):
    """fit_neural reads the recording put in the returned dict instead of a file."""
    box: dict[str, NeuralRecording] = {}
    monkeypatch.setattr(R, "load_recording", lambda data, root=None: box["rec"])
    return box


# --- splits -------------------------------------------------------------------------------

def test_trial_split_boundaries_and_refusals() -> None:
    s = S.trial_split(np.repeat(np.arange(9), 2))  # int(7.2) = 7, int(8.1) = 8 trials
    assert [len(s[k]) // 2 for k in ("train", "val", "test")] == [7, 1, 1]
    with pytest.raises(ConfigError, match="split: 5 trials are too few"):
        S.trial_split(np.arange(5))  # int(4.0) = int(4.5): no validation trial
    with pytest.raises(ConfigError, match="split: 10 trials"):
        S.trial_split(np.arange(10), 0.5, 0.5)  # nothing left to test


def test_kfold_refuses_more_folds_than_trials_naming_the_range() -> None:
    trial = np.repeat(np.arange(5), 2)
    with pytest.raises(ConfigError, match=r"split.folds: expected int in \[3, 5\], got 6"):
        S.trial_kfold(trial, 6, 0)
    assert len(S.trial_kfold(trial, 5, 4)["test"]) == 2


def test_block_split_known_boundaries_and_too_short_recordings() -> None:
    s = S.block_split(100, guard=2)  # test 80.., val from int(80 * 0.7) = 56, gaps of 2
    assert (s["train"][[0, -1]].tolist(), s["val"][[0, -1]].tolist()) == ([0, 53], [56, 77])
    assert s["test"][[0, -1]].tolist() == [80, 99]
    with pytest.raises(ConfigError, match="split: 2 bins are too few for blocks with guard 0"):
        S.block_split(2)  # would leave no training bin
    with pytest.raises(ConfigError, match="split.guard: expected int >= 0, got -1"):
        S.block_split(100, guard=-1)


def test_random_split_positions_are_sorted() -> None:
    s = S.random_split(50, seed=2)
    for name, bins in s.items():
        assert np.array_equal(bins, np.sort(bins)), name


# --- config -------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value"), [("folds", 2), ("mined_start", 1.0), ("guard", -1),
                                            ("mine_exclude", "1.5"), ("steps", 0),
                                            # a digit to str.isdigit, not to int(): it used to
                                            # pass here and fail at MYOW's first step
                                            ("mine_exclude", "\u00b2")])
def test_out_of_range_values_are_refused_naming_key_and_value(key, value) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: expected .*, got {re.escape(repr(value))}"):
        from_mapping(NeuralConfig, {"data": "x", key: value})


@pytest.mark.parametrize(("key", "value"), [("folds", 3), ("mined_start", 0.0), ("guard", 0),
                                            ("mine_exclude", "150"), ("ema_start", 1.0)])
def test_edge_values_are_accepted(key, value) -> None:
    assert getattr(from_mapping(NeuralConfig, {"data": "x", key: value}), key) == value


def test_kind_defaults_are_the_documented_ones() -> None:
    """The guard defaults to the positive window (class docstring); lengths and MYOW's
    warm-up as the KIND_DEFAULTS comment states."""
    for kind, steps, exclude in (("reach", 1000, "trial"), ("sleep", 1500, "150")):
        cfg = resolve(NeuralConfig(data="x", split="kfold"), kind)
        assert cfg.guard == cfg.pos_window == KIND_DEFAULTS[kind]["pos_window"], kind
        assert (cfg.steps, cfg.mine_exclude, cfg.split) == (steps, exclude, "kfold"), kind
        assert (cfg.mined_start, cfg.mined_warmup_steps) == (0.3, 100), kind


@pytest.mark.parametrize("kind", ["reach", "sleep"])
def test_the_guard_follows_a_given_positive_window_unless_given_itself(kind) -> None:
    """A wider positive window widens the block split's guard gap with it, so no training
    bin's temporal positive lies across it in held-out bins."""
    assert resolve(NeuralConfig(data="x", pos_window=10), kind).guard == 10
    assert resolve(NeuralConfig(data="x", pos_window=10, guard=1), kind).guard == 1
    assert resolve(NeuralConfig(data="x", guard=0), kind).guard == 0


# --- metrics intervals --------------------------------------------------------------------

def test_reach_intervals_count_test_trials_and_sleep_intervals_count_blocks() -> None:
    rec = SimpleNamespace(kind="reach", class_names=REACH_CLASSES)
    trial = np.repeat([3, 7, 9], [2, 5, 1])
    per_bin = {"accuracy": np.r_[np.ones(7), 0.0]}
    out = metric_intervals(rec, trial % 8, trial % 8, per_bin, trial, np.arange(8))
    assert (out["accuracy"]["n"], out["accuracy"]["unit"]) == (3, "test trials")
    sleep = SimpleNamespace(kind="sleep", class_names=SLEEP_CLASSES)
    bins = np.arange(140, 610)  # recorded bins 140..609: blocks 0 to 4 of 150
    label = bins % 3
    out = metric_intervals(sleep, label, label, {}, np.zeros_like(bins), bins)
    assert set(out) == {"accuracy", "f1_weighted"}
    assert (out["accuracy"]["n"], out["accuracy"]["unit"]) == (5, "test blocks of 150 bins")
    assert out["f1_weighted"]["low"] == out["f1_weighted"]["high"] == 1.0


# --- the validation monitor ---------------------------------------------------------------

def test_monitor_counts_steps_from_its_first_step_on() -> None:
    """A checkpoint exactly at ``first_step`` is eligible; earlier ones only logged."""
    from mtneuro.tasks.neural.select import ValidationMonitor

    scores = {10: 0.9, 20: 0.5, 30: 0.4}
    monitor = ValidationMonitor(torch.zeros(2, 1), torch.zeros(2, 1),
                                lambda f_train, f_val: ((0.0,), {}), first_step=20)
    for step, score in scores.items():
        monitor.scorer = lambda f_t, f_v, s=score: ((s,), {"accuracy": s})
        monitor(step, torch.nn.Identity())
    assert monitor.best_step == 20 and monitor.best == {"step": 20.0, "accuracy": 0.5}
    assert len(monitor.history) == 3


@pytest.mark.parametrize(("method", "mined_start", "warmup", "first"),
                         [("myow", 0.5, 5, 25), ("myow", 0.9, 100, 40), ("byol", 0.5, 5, 0)])
def test_monitor_first_step_is_full_mined_weight_for_myow_only(method, mined_start, warmup,
                                                               first) -> None:
    rec = _reach([4] * 20)
    split = S.trial_split(rec.trial)
    config = resolve(NeuralConfig(data="x", method=method, steps=40, mined_start=mined_start,
                                  mined_warmup_steps=warmup), "reach")
    z = torch.from_numpy(rec.rates)
    assert R.validation_monitor(rec, split, z, config).first_step == first


# --- run: splits, refusals, neuron filtering ----------------------------------------------

def test_a_split_of_the_other_kind_is_refused_naming_the_valid_ones() -> None:
    config = resolve(NeuralConfig(data="x", split="block"), "reach")
    with pytest.raises(ConfigError, match="expected one of trial, kfold for a reach recording"):
        R.make_splits(_reach([3] * 20), config)


def test_kfold_makes_one_split_per_fold() -> None:
    config = resolve(NeuralConfig(data="x", split="kfold", folds=4), "reach")
    folds = R.make_splits(_reach([3] * 20), config)
    assert len(folds) == 4
    assert np.array_equal(np.sort(np.concatenate([f["test"] for f in folds])), np.arange(60))


def test_undecodable_training_bins_are_refused() -> None:
    rec = _reach([3] * 20)
    split = S.trial_split(rec.trial)
    one_class = NeuralRecording(**{**vars(rec), "label": np.full(60, 2)})
    with pytest.raises(DataError, match=r"one class only \(90°\)"):
        R.check_decodable(one_class, split)
    flat = NeuralRecording(**{**vars(rec), "rates": np.ones((60, 6), np.float32)})
    with pytest.raises(DataError, match="every neuron's rate is constant"):
        R.check_decodable(flat, split)


@pytest.mark.parametrize("refit", [False, True])
def test_neurons_silent_in_the_learning_bins_are_dropped(refit) -> None:
    """Neuron 0 fires only on validation and test bins, neuron 1 only on test bins."""
    rec = _reach([3] * 20)
    split = S.trial_split(rec.trial)
    rates = rec.rates.copy()
    rates[split["train"], 0] = 0.0
    rates[np.r_[split["train"], split["val"]], 1] = 0.0
    rec = NeuralRecording(**{**vars(rec), "rates": rates})
    config = resolve(NeuralConfig(data="x", method="raw"), "reach")
    features, _, spec, _ = R.learn_features(rec, split, config, refit=refit)
    live = [0, 2, 3, 4, 5] if refit else [2, 3, 4, 5]
    assert spec["live_neurons"] == live and features.shape == (60, len(live))
    bins = S.learning_bins(split, refit)
    np.testing.assert_allclose(features[bins].mean(axis=0), 0.0, atol=1e-5)


def test_a_refit_with_epochs_trains_the_first_pass_step_count_unmonitored() -> None:
    """24 training bins in batches of 8 are 3 steps a pass: the refit on 27 learning bins
    keeps the first pass's 3 (not ceil(27 / 8) = 4)."""
    rec = _reach([3] * 10)
    split = S.trial_split(rec.trial)
    config = resolve(NeuralConfig(data="x", method="byol", epochs=1, batch_size=8,
                                  hidden=(8,), rep_dim=4, head_hidden=8), "reach")
    _, first, _, monitor = R.learn_features(rec, split, config)
    _, refit, _, none = R.learn_features(rec, split, config, refit=True)
    assert first.steps == refit.steps == 3
    # the refit has seen the validation bins: nothing is selected on them
    assert monitor is not None and none is None


# --- run: reported numbers ----------------------------------------------------------------

def test_kfold_pools_metrics_over_test_bins_not_folds(loaded) -> None:
    """Unequal folds: pooled accuracy is the mean over all test bins, each fold's weighted by
    its test bins."""
    loaded["rec"] = _reach([2] * 6 + [7] * 6, noise=6.0)  # folds of 8, 18, 28 bins
    out = R.fit_neural(NeuralConfig(data="x", method="raw", split="kfold", folds=3, refit=False))
    folds = out.metrics["folds"]
    sizes = np.array([len(s["test"]) for s in R.make_splits(loaded["rec"], out.config)])
    assert len(set(sizes.tolist())) > 1 and out.metrics["n_test"] == sizes.sum() == 54
    for key in ("accuracy", "delta_accuracy", "mean_angular_error"):
        assert out.metrics[key] == pytest.approx(np.mean(out.test_per_bin[key])), key
        per_fold = [f[key] for f in folds]
        assert out.metrics[key] == pytest.approx(np.average(per_fold, weights=sizes)), key
    assert np.mean([f["accuracy"] for f in folds]) != pytest.approx(out.metrics["accuracy"])


def test_a_refit_reports_the_first_pass_validation_scores_and_penalty(loaded) -> None:
    """The refitted readout has seen the validation bins: the reported validation scores and
    penalty are those chosen before, identical with and without the refit."""
    loaded["rec"] = _reach([4] * 27 + [5] * 3, neurons=40, noise=8.0, seed=3)  # test: 15 bins
    runs = [R.fit_neural(NeuralConfig(data="x", method="raw", refit=refit))
            for refit in (False, True)]
    keys = [k for k in runs[0].metrics if k.startswith("val_")] + ["penalty"]
    assert len(keys) == 4
    assert {k: runs[1].metrics[k] for k in keys} == {k: runs[0].metrics[k] for k in keys}
    assert [runs[0].metrics[k] for k in ("n_train", "n_val", "n_test")] == [96, 12, 15]
    rec, split = loaded["rec"], S.trial_split(loaded["rec"].trial)
    features, *_ = R.learn_features(rec, split, runs[0].config)
    chosen = R.fit_readout(rec, features, split)  # the grid's best on validation
    assert runs[0].metrics["penalty"] == chosen.penalty_ != 2.0**-10


def test_the_refit_ensemble_reads_the_first_pass_features_first(loaded) -> None:
    """Documented order (NeuralOutcome.first_pass): first-pass features, then the retrained
    encoder's; without ``refit_ensemble`` only the retrained encoder's."""
    loaded["rec"] = _reach([3] * 20)
    out = R.fit_neural(NeuralConfig(data="x", method="byol", steps=4, batch_size=16,
                                    select_every=2, hidden=(8,), rep_dim=3, head_hidden=8))
    encoder, _, spec = out.first_pass
    rates = torch.from_numpy(loaded["rec"].rates[54:])  # the last 2 of 20 trials: test bins
    x = (rates - torch.tensor(spec["mean"])) / torch.tensor(spec["std"])
    with torch.no_grad():
        first = encoder(x).numpy()
    assert out.test_features.shape == (6, 6)
    np.testing.assert_allclose(out.test_features[:, :3], first, atol=1e-5)
    alone = R.fit_neural(NeuralConfig(data="x", method="byol", steps=4, batch_size=16,
                                      select_every=2, hidden=(8,), rep_dim=3, head_hidden=8,
                                      refit_ensemble=False))
    assert alone.first_pass is None and alone.test_features.shape == (6, 3)
    assert (out.metrics["refit_ensemble"], alone.metrics["refit_ensemble"]) == (True, False)


# --- training loop and supervised baseline ------------------------------------------------

def _config(**kwargs) -> NeuralConfig:
    return resolve(NeuralConfig(data="x", method="byol", **kwargs), "reach")


def test_checkpoints_every_few_steps_and_at_the_last() -> None:
    from mtneuro.tasks.neural.train import drive

    seen: list[int] = []
    drive("t", lambda values: {"loss": torch.tensor(1.0)}, 7, _config(steps=7),
          torch.nn.Linear(1, 1), every=3, on_checkpoint=lambda step, encoder: seen.append(step))
    assert seen == [3, 6, 7]


def test_the_warm_up_is_capped_at_the_run_length() -> None:
    """5 steps with a 50-step warm-up: the warm-up ends with the run, at the full rate."""
    from mtneuro.tasks.neural.train import schedule

    config = _config(steps=5, warmup_steps=50, lr=1e-3)
    assert [schedule(s, 5, config)["lr"] for s in (0, 4)] == pytest.approx([2e-4, 1e-3])


def _loss_spy(monkeypatch, calls: list) -> None:
    """Record the targets the supervised baseline's losses receive."""
    from mtneuro.tasks.neural import baselines

    real = baselines.F

    def mse(out, target):
        calls.append(target)
        return real.mse_loss(out, target)

    def cross_entropy(out, target, weight=None):
        calls.append(weight)
        return real.cross_entropy(out, target, weight=weight)

    monkeypatch.setattr(baselines, "F", SimpleNamespace(mse_loss=mse, cross_entropy=cross_entropy))


@pytest.mark.parametrize("kind", ["reach", "sleep"])
def test_supervised_targets(monkeypatch, kind) -> None:
    """Reach: label 2 is the unit vector at 90 degrees; sleep: classes counted 6, 3, 3 weigh
    n / (classes * count) = 2/3, 4/3, 4/3."""
    from mtneuro.tasks.neural.baselines import train_supervised
    from mtneuro.tasks.neural.train import ViewSampler

    calls: list = []
    _loss_spy(monkeypatch, calls)
    config = _config(steps=1, batch_size=4, hidden=(4,), rep_dim=2)
    rates = torch.rand(12, 3) + 1.0
    zeros = torch.zeros(12, dtype=torch.long)
    sampler = ViewSampler(rates, zeros, zeros, R.make_augment(rates.numpy(), config), 1, "10")
    label = torch.full((12,), 2) if kind == "reach" else torch.tensor([0] * 6 + [1] * 3 + [2] * 3)
    train_supervised(sampler, label, kind, config, seed=0, n_classes=8 if kind == "reach" else 3)
    if kind == "reach":
        torch.testing.assert_close(calls[0], torch.tensor([[0.0, 1.0]] * 4), atol=1e-6, rtol=0)
    else:
        torch.testing.assert_close(calls[0], torch.tensor([2 / 3, 4 / 3, 4 / 3]))


# --- task contract ------------------------------------------------------------------------

def test_quick_preset_caps_steps_unless_a_length_is_given() -> None:
    from mtneuro.tasks.neural.task import QUICK_STEPS

    assert quick_preset({}) == {"steps": QUICK_STEPS}
    assert quick_preset({"epochs": 3}) == quick_preset({"steps": 9}) == {}
    # a command's unset --steps / --epochs arrive as None: still no length chosen
    assert quick_preset({"steps": None, "epochs": None}) == {"steps": QUICK_STEPS}


def test_headline_metrics_by_kind() -> None:
    assert score_keys({"kind": "reach"}) == ("accuracy", "delta_accuracy")
    assert score_keys({"kind": "sleep"}) == ("accuracy", "f1_weighted")
    assert headline({"kind": "sleep", "accuracy": 0.5, "delta_accuracy": 0.9}) == {"accuracy": 0.5}
