"""K-fold validation is the next group and leaks into no other split; the random
split follows its seed."""

import numpy as np

from mtneuro.tasks.neural.splits import random_split, trial_kfold


def _trials(n_trials, per_trial=3):
    return np.repeat(np.arange(n_trials), per_trial)


def test_kfold_splits_partition_the_bins_with_the_next_group_as_validation():
    trial = _trials(20)  # 5 folds of 4 trials, recorded order = id order
    for fold in range(5):
        s = trial_kfold(trial, 5, fold)
        groups = {k: set(trial[v].tolist()) for k, v in s.items()}
        assert groups["test"] == set(range(4 * fold, 4 * fold + 4)), fold
        nxt = (fold + 1) % 5
        assert groups["val"] == set(range(4 * nxt, 4 * nxt + 4)), fold
        assert groups["train"] == set(range(20)) - groups["test"] - groups["val"], fold
        every = np.sort(np.concatenate(list(s.values())))
        assert np.array_equal(every, np.arange(trial.size)), fold  # each bin in one split


def test_random_split_depends_on_its_seed():
    a, b = random_split(200, seed=0), random_split(200, seed=1)
    assert not np.array_equal(a["test"], b["test"])
    assert np.array_equal(a["test"], random_split(200, seed=0)["test"])
