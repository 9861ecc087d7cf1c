"""Train / validation / test splits of a recording, as sorted bin positions.

- Reach (MYOW protocol): whole trials in recorded order, first 80% of trials for
  training, next 10% validation, last 10% test (:func:`trial_split`), or k folds
  over trials for tighter error bars (:func:`trial_kfold`).
- Sleep: contiguous time blocks (:func:`block_split`, reference layout: test = last
  20% of bins, the first 80% split 70/30 into train/val) with a guard gap: the
  bins of train and validation closer than ``guard`` bins to a bin of another
  split are dropped, so no training bin lies in the positive window of a test bin.
  :func:`random_split` is a random 70/10/20 split of bins (not the reference code's); it
  puts temporal neighbours in train and test, so it is labelled ``random`` wherever
  reported.

>>> s = trial_split(np.repeat(np.arange(10), 3))
>>> [len(s[k]) for k in ("train", "val", "test")]
[24, 3, 3]
"""

from __future__ import annotations

import numpy as np

from mtneuro.errors import ConfigError

Split = dict[str, np.ndarray]


def trials_in_order(trial: np.ndarray) -> np.ndarray:
    """Trial ids in the order they were recorded (first appearance)."""
    ids, first = np.unique(trial, return_index=True)
    return ids[np.argsort(first)]


def _by_trials(trial: np.ndarray, groups: dict[str, np.ndarray]) -> Split:
    return {name: np.flatnonzero(np.isin(trial, ids)) for name, ids in groups.items()}


def trial_split(trial: np.ndarray, train: float = 0.8, val: float = 0.1) -> Split:
    """Whole trials in recorded order: ``[train | val | test]`` by trial count.

    Boundaries as the reference: ``int(T * train)`` and ``int(T * (train + val))`` trials.

    Args:
        trial: (bins,) trial id per bin.

    Returns:
        ``{"train", "val", "test"}`` -> sorted int64 bin positions.
    """
    order = trials_in_order(trial)
    t = order.size
    a, b = int(t * train), int(t * (train + val))
    if a < 1 or b <= a or b >= t:
        least = least_trials(train, val)
        need = f"; it needs at least {least} (one of them tested)" if least else ""
        raise ConfigError(f"split: {t} trials are too few for a {train}/{val}/rest split by "
                          f"trial{need}")
    return _by_trials(trial, {"train": order[:a], "val": order[a:b], "test": order[b:]})


def least_trials(train: float = 0.8, val: float = 0.1) -> int | None:
    """The fewest trials :func:`trial_split` splits at these shares into three non-empty
    parts (6 at 0.8 / 0.1), ``None`` if none up to 10,000 does.

    >>> least_trials()
    6
    """
    return next((n for n in range(1, 10_000)
                 if 1 <= int(n * train) < int(n * (train + val)) < n), None)


def trial_kfold(trial: np.ndarray, folds: int, fold: int) -> Split:
    """Fold ``fold`` of ``folds`` contiguous groups of trials (recorded order).

    The fold's trials are the test set, the next group (cyclically) validation,
    the rest training; with 10 folds each fold is an 80/10/10 split.
    """
    order = trials_in_order(trial)
    if folds < 3 or folds > order.size:
        raise ConfigError(f"split.folds: expected int in [3, {order.size}], got {folds}")
    if not 0 <= fold < folds:
        raise ConfigError(f"split.fold: expected int in [0, {folds}), got {fold}")
    groups = np.array_split(order, folds)
    test, val = groups[fold], groups[(fold + 1) % folds]
    train = np.concatenate([g for i, g in enumerate(groups) if i not in (fold, (fold + 1) % folds)])
    return _by_trials(trial, {"train": train, "val": val, "test": test})


def block_split(n_bins: int, *, test: float = 0.2, val_of_rest: float = 0.3, guard: int = 0) -> Split:
    """Contiguous blocks ``[train | val | test]`` with ``guard`` bins dropped at each boundary.

    Args:
        n_bins: length of the recording.
        test: fraction of bins (the last ones) used for testing.
        val_of_rest: fraction of the remaining bins (the last ones) used for validation.
        guard: bins of train/val within ``guard`` bins of another split are dropped.
    """
    if guard < 0:
        raise ConfigError(f"split.guard: expected int >= 0, got {guard}")
    test_start = int(n_bins * (1 - test))
    val_start = int(test_start * (1 - val_of_rest))
    if val_start - guard < 1 or test_start - guard <= val_start or test_start >= n_bins:
        raise ConfigError(f"split: {n_bins} bins are too few for blocks with guard {guard}")
    return {
        "train": np.arange(0, val_start - guard),
        "val": np.arange(val_start, test_start - guard),
        "test": np.arange(test_start, n_bins),
    }


def random_split(n_bins: int, *, train: float = 0.7, val: float = 0.1, seed: int = 0) -> Split:
    """Random 70/10/20 split of bins (leaks temporal neighbours; the reference code's
    split is contiguous)."""
    perm = np.random.default_rng(seed).permutation(n_bins)
    a, b = int(n_bins * train), int(n_bins * (train + val))
    return {"train": np.sort(perm[:a]), "val": np.sort(perm[a:b]), "test": np.sort(perm[b:])}


def learning_bins(split: Split, refit: bool) -> np.ndarray:
    """The bins a run learns from: the training bins, or for a refit the training and
    validation bins together (sorted); never the test bins."""
    return np.union1d(split["train"], split["val"]) if refit else split["train"]


def segments(positions: np.ndarray, trial: np.ndarray) -> np.ndarray:
    """Segment id per selected bin: a new segment at each trial change or gap in ``positions``.

    Temporal positives are drawn within a segment, so they never cross a trial
    boundary or a bin removed by the split.
    """
    positions = np.asarray(positions)
    new = np.ones(positions.size, dtype=bool)
    new[1:] = (np.diff(positions) != 1) | (trial[positions[1:]] != trial[positions[:-1]])
    return np.cumsum(new) - 1
