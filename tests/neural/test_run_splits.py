"""Fit_neural passes the config's guard and seed to its split, and reports every
fold's kept step."""

import numpy as np
import pytest

from mtneuro.data.neural import load_recording
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural import run as R
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.splits import block_split, random_split


@pytest.fixture(scope="module")
def sleep_file(tmp_path_factory):
    """A synthetic sleep recording: 600 bins, 8 neurons, states in runs of varying length."""
    rng = np.random.default_rng(0)
    states = np.repeat(rng.integers(0, 3, 60), rng.integers(5, 16, 60))[:600].astype(float)
    counts = rng.poisson(3.0 + 4.0 * np.eye(3, 8)[states.astype(int)].T)
    folder = tmp_path_factory.mktemp("sleep")
    np.save(folder / "x_fr_bins_n_4full.npy", counts.astype(float))
    np.save(folder / "x_behav_states_n_4full.npy", states)
    return folder / "x_fr_bins_n_4full.npy", states.astype(int)


def test_block_split_drops_the_configured_guard(sleep_file):
    path, _ = sleep_file
    for guard in (0, 9):
        out = fit_neural(NeuralConfig(data=str(path), method="raw", split="block", guard=guard))
        expected = block_split(600, guard=guard)
        assert out.metrics["n_train"] == len(expected["train"]), guard
        assert out.metrics["n_val"] == len(expected["val"]), guard


def test_random_split_follows_the_run_seed(sleep_file):
    path, states = sleep_file
    for seed in (0, 3):
        out = fit_neural(NeuralConfig(data=str(path), method="raw", split="random", seed=seed))
        np.testing.assert_array_equal(out.test_label, states[random_split(600, seed=seed)["test"]])
    assert not np.array_equal(random_split(600, seed=0)["test"], random_split(600, seed=3)["test"])


def test_kfold_reports_the_kept_step_of_every_fold(reach_slice, monkeypatch):
    def scorer(angle_train, angle_val):  # flat validation score: the first checkpoint is kept
        return lambda f_train, f_val: ((0.5,), {"accuracy": 0.5})

    monkeypatch.setattr(R, "reach_scorer", scorer)
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="byol", split="kfold", folds=3,
                                  refit=False, steps=20, batch_size=64, warmup_steps=2,
                                  select_every=5))
    assert out.metrics["selected_step"] == [5, 5, 5]
    assert out.metrics["n_folds"] == 3 and out.kept_step == 5
    # a penalty is chosen per fold: an average of them is no metric, pooled or per fold
    assert "penalty" not in out.metrics
    assert all("penalty" not in fold for fold in out.metrics["folds"])


def test_kfold_counts_are_per_fold_and_the_test_bins_pooled(reach_slice):
    """Three folds of a recording: each trains on a third and validates on a third, and every
    bin is tested once; sums over folds (one recording's bins thrice) read as train = test."""
    rec = load_recording(str(reach_slice))
    folds = [S.trial_kfold(rec.trial, 3, f) for f in range(3)]
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="raw", split="kfold", folds=3))
    m = out.metrics
    assert m["n_test"] == rec.n_bins
    assert m["n_train"] == round(sum(len(f["train"]) for f in folds) / 3) < rec.n_bins // 2
    assert m["n_val"] == round(sum(len(f["val"]) for f in folds) / 3)
    assert m["split_label"].endswith("n_train and n_val per fold (mean over folds)")
