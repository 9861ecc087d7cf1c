"""Splits: whole trials in recorded order, k folds, contiguous blocks with a guard gap."""

import numpy as np
import pytest

from mtneuro.errors import ConfigError
from mtneuro.tasks.neural.splits import (
    block_split,
    learning_bins,
    random_split,
    segments,
    trial_kfold,
    trial_split,
)


def _trials(sizes, ids=None):
    ids = list(range(len(sizes))) if ids is None else ids
    return np.concatenate([np.full(n, t) for t, n in zip(ids, sizes)])


def test_trial_split_whole_trials_in_recorded_order():
    # 20 trials with ids not sorted by time: recorded order must win over id order
    ids = list(range(19, -1, -1))
    sizes = [3 + (i % 4) for i in range(20)]
    trial = _trials(sizes, ids)
    s = trial_split(trial)
    train_ids = list(dict.fromkeys(trial[s["train"]]))
    assert train_ids == ids[:16]
    assert list(dict.fromkeys(trial[s["val"]])) == ids[16:18]
    assert list(dict.fromkeys(trial[s["test"]])) == ids[18:]
    assert len(s["train"]) == sum(sizes[:16]) and len(s["test"]) == sum(sizes[18:])
    # every bin in exactly one split, and no trial shared
    allidx = np.concatenate(list(s.values()))
    assert np.array_equal(np.sort(allidx), np.arange(trial.size))
    assert not set(trial[s["train"]]) & set(trial[s["test"]])


def test_trial_split_reference_boundaries_for_159_trials():
    s = trial_split(_trials([2] * 159))
    assert [len(s[k]) // 2 for k in ("train", "val", "test")] == [127, 16, 16]


def test_kfold_each_trial_tested_once():
    trial = _trials([2] * 23)
    tested = np.concatenate([trial[trial_kfold(trial, 5, f)["test"]] for f in range(5)])
    assert np.array_equal(np.sort(tested), np.sort(trial))
    f = trial_kfold(trial, 5, 4)
    assert not set(trial[f["val"]]) & set(trial[f["test"]])
    with pytest.raises(ConfigError):
        trial_kfold(trial, 5, 5)


def test_block_split_guard_gap_keeps_training_out_of_test_windows():
    s = block_split(1000, guard=7)
    assert s["test"][0] == 800 and s["test"][-1] == 999
    assert s["val"][0] == 560 and s["train"][0] == 0
    # no training or validation bin within 7 bins of a bin of another split
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        gap = np.abs(s[a][:, None] - s[b][None, :]).min()
        assert gap > 7, (a, b, gap)
    without = block_split(1000, guard=0)
    assert len(without["train"]) - len(s["train"]) == 7


def test_random_split_is_a_seeded_partition():
    a, b = random_split(100, seed=1), random_split(100, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert [len(a[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    assert np.array_equal(np.sort(np.concatenate(list(a.values()))), np.arange(100))


def test_segments_break_at_trials_and_gaps():
    trial = np.array([0, 0, 0, 1, 1, 1, 1])
    positions = np.array([0, 1, 3, 4, 6])
    np.testing.assert_array_equal(segments(positions, trial), [0, 0, 1, 1, 2])


def test_learning_bins_are_train_or_train_and_val_never_test():
    split = {"train": np.array([0, 1, 5]), "val": np.array([2, 3]), "test": np.array([4])}
    assert learning_bins(split, refit=False).tolist() == [0, 1, 5]
    assert learning_bins(split, refit=True).tolist() == [0, 1, 2, 3, 5]


def test_too_few_trials_names_how_many_are_needed():
    import numpy as np
    import pytest

    from mtneuro.errors import ConfigError
    from mtneuro.tasks.neural.splits import trial_split

    with pytest.raises(ConfigError, match=r"^split: 5 trials are too few for a 0\.8/0\.1/rest "
                                          r"split by trial; it needs at least 6 \(one of them "
                                          r"tested\)$"):
        trial_split(np.repeat(np.arange(5), 3))
    six = np.repeat(np.arange(6), 3)
    assert len(set(six[trial_split(six)["test"]])) == 1
