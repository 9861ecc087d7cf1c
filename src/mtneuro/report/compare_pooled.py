"""Task 2's pooled F1 in :mod:`mtneuro.report.compare`: the leaderboard's F1 is pooled over the
pixels of all test images (per seed, then averaged over seeds), so a paired comparison of it
resamples each image's pixel counts (``pixels_<true>_as_<predicted>`` columns of
``predictions.csv``) and recomputes the F1 of every resample from their sums."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from mtneuro.stats import f1_per_class_of_totals

#: Column prefix of one image's pixel count of a (true, predicted) class pair.
PIXELS = "pixels_"


def pixel_counts(rows: dict[str, np.ndarray], order: np.ndarray, seeds: int, per_seed: int
                 ) -> tuple[np.ndarray, list[str]] | None:
    """Each seed's pixel counts ``(seeds, images, C*C)`` (rows = truth, in the order of
    ``order``: by seed, then by image) and the class names, or ``None`` for a run written
    before the counts were (its IoU is still compared)."""
    columns = [c for c in rows if c.startswith(PIXELS)]
    n_classes = int(round(len(columns) ** 0.5))
    if not columns or n_classes**2 != len(columns):
        return None
    # written true-major: the first C columns name every predicted class
    classes = [c.split("_as_", 1)[1] for c in columns[:n_classes]]
    counts = np.stack([rows[c][order].astype(np.float64) for c in columns], axis=-1)
    return counts.reshape(seeds, per_seed, len(columns)), classes


def with_pooled_f1(names: list[str], per_sample: np.ndarray,
                   statistic: Callable[[np.ndarray], np.ndarray], counts_a: np.ndarray,
                   counts_b: np.ndarray, classes: list[str]
                   ) -> tuple[list[str], np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``names``, ``per_sample`` and ``statistic`` with ``f1_<class>`` and ``avg_f1`` added:
    each side's per-seed pixel counts of every image ride along, so that a resample of
    images sums to per-seed pooled counts, whose F1 (and its mean over the classes present)
    is averaged over the side's seeds, as the leaderboard's."""
    c, k = len(classes), per_sample.shape[1]
    parts = [counts.transpose(1, 0, 2).reshape(counts.shape[1], -1)  # (images, seeds*C*C)
             for counts in (counts_a, counts_b)]
    k_a = parts[0].shape[1]

    def with_f1(totals: np.ndarray) -> np.ndarray:
        def seeds_mean(part: np.ndarray) -> np.ndarray:
            f1 = f1_per_class_of_totals(part.reshape(*part.shape[:-1], -1, c * c), c)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a resample of no class
                average = np.nanmean(f1, axis=-1, keepdims=True)
            return np.concatenate([f1, average], axis=-1).mean(axis=-2)  # over seeds

        f1_a, f1_b = seeds_mean(totals[..., k:k + k_a]), seeds_mean(totals[..., k + k_a:])
        pooled = np.stack([f1_a, f1_b, f1_a - f1_b], axis=-2)
        return np.concatenate([statistic(totals[..., :k]), pooled], axis=-1)

    return ([*names, *[f"f1_{name}" for name in classes], "avg_f1"],
            np.concatenate([per_sample, *parts], axis=1), with_f1)
