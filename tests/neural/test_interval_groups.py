"""Reach intervals resample whole test trials (a trial's bins together), checked against an
explicit loop over trials on a slice of the packaged Chewie recording."""

import numpy as np
import pytest

from mtneuro.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, _resample_counts
from mtneuro.tasks.neural import NeuralConfig, fit_neural


def _trial_loop(values, trial):
    """2.5 / 97.5 percentiles of the mean over the bins of the trials each resample draws
    (trial g of the sorted test trials drawn ``counts[b, g]`` times)."""
    trials = np.unique(trial)
    counts = _resample_counts(len(trials), BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).astype(int)
    bins_of = {t: np.flatnonzero(trial == t) for t in trials}
    draws = []
    for row in counts:
        bins = np.concatenate([bins_of[t] for t in np.repeat(trials, row)])
        draws.append(values[bins].mean())
    return np.percentile(draws, [2.5, 97.5])


def test_kfold_intervals_resample_test_trials(reach_slice):
    """k-fold: all 40 trials are test trials; every bin of a trial drawn with it."""
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="raw", split="kfold", folds=4))
    intervals = out.metrics["intervals"]
    assert set(intervals) == set(out.test_per_bin) and len(np.unique(out.test_trial)) == 40
    assert out.metrics["n_test"] > 40  # several bins per trial: bins and trials differ
    for key, values in out.test_per_bin.items():
        assert intervals[key]["n"] == 40 and intervals[key]["unit"] == "test trials", key
        low, high = _trial_loop(values, out.test_trial)
        assert [intervals[key]["low"], intervals[key]["high"]] == pytest.approx([low, high]), key


def test_trial_split_interval_counts_test_trials_not_bins(reach_slice):
    out = fit_neural(NeuralConfig(data=str(reach_slice), method="raw"))
    n_trials = len(np.unique(out.test_trial))
    assert n_trials < out.metrics["n_test"]
    for key, interval in out.metrics["intervals"].items():
        assert interval["n"] == n_trials, key


def test_sleep_intervals_resample_blocks_of_recorded_bins(shared_data, tmp_path):
    """Neighbouring sleep bins are not independent: the test bins are resampled in blocks of
    150 recorded bins (the reference's neg_k), here the 6 blocks of the last 900 of 4,500."""
    from mtneuro.data.neural import RECORDINGS
    from mtneuro.tasks.neural.metrics import SLEEP_BLOCK_BINS

    rates = np.load(shared_data / RECORDINGS["mouse-ca1"][0])[:, :4500]
    states = np.load(shared_data / RECORDINGS["mouse-ca1"][1])[:4500]
    np.save(tmp_path / "x_fr_bins_n_4full.npy", rates)
    np.save(tmp_path / "x_behav_states_n_4full.npy", states)
    out = fit_neural(NeuralConfig(data=str(tmp_path / "x_fr_bins_n_4full.npy"), method="raw"))
    test_bins = np.arange(4500)[-out.metrics["n_test"]:]
    blocks = test_bins // SLEEP_BLOCK_BINS
    interval = out.metrics["intervals"]["accuracy"]
    assert (interval["n"], interval["unit"]) == (len(np.unique(blocks)), "test blocks of 150 bins")
    low, high = _trial_loop((out.test_pred == out.test_label).astype(float), blocks)
    assert [interval["low"], interval["high"]] == pytest.approx([low, high])
