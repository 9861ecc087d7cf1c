"""Summaries over seeds: the one mean +- std of every task, the report and the bench; and
the one bootstrap interval over test samples, for runs whose seeds do not vary training.

A base module (NumPy only), so every layer reports spread the same way.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mtneuro.errors import DataError


def mean_std(values: Sequence[Any] | np.ndarray) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof 1) over seeds.

    Args:
        values: one number per seed, ``(S,)`` (``None``, NaN and inf are left out), or
            one row of numbers per seed, ``(S, C)`` (per column, NaN-aware).

    Returns:
        ``{"mean", "std", "n"}``. For ``(S,)``: floats, ``n`` the finite values counted,
        and NaN mean and std with ``n`` 0 when none is finite. For ``(S, C)``: lists of C
        floats (an all-NaN column stays NaN; a column finite in only one of several seeds
        has a NaN std, having no spread to measure), ``n`` = S. Identical values (one seed, or
        seeds that agree) give exactly that value and a std of exactly 0.0: a computed
        mean of equal floats can be off in the last bit and leave a std of ~1e-16, which
        would read as "seeds vary it".

    >>> mean_std([0.5, 0.7, None])
    {'mean': 0.6, 'std': 0.14142135623730948, 'n': 2}
    """
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if arr.ndim == 1:
        finite = arr[np.isfinite(arr)]
        if finite.size == 0:
            return {"mean": float("nan"), "std": float("nan"), "n": 0}
        if (finite == finite[0]).all():  # identical seeds: exactly that value, std exactly 0
            return {"mean": float(finite[0]), "std": 0.0, "n": int(finite.size)}
        return {"mean": float(finite.mean()), "std": float(finite.std(ddof=1)), "n": int(finite.size)}
    n = arr.shape[0]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(arr, axis=0)
        std = (np.nanstd(arr, axis=0, ddof=1) if n > 1
               else np.where(np.isnan(mean), np.nan, 0.0))
        low = np.nanmin(arr, axis=0)
        # one finite value of several seeds is not "seeds agree": its std stays NaN
        same = (low == np.nanmax(arr, axis=0)) & ((np.isfinite(arr).sum(axis=0) > 1) | (n == 1))
    mean, std = np.where(same, low, mean), np.where(same, 0.0, std)
    return {"mean": mean.tolist(), "std": std.tolist(), "n": int(n)}


BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
#: Fewest samples (or groups) a bootstrap interval is given for: 2 units have 3 distinct
#: resamples, 4 have 35, so a "95%" percentile interval over them covers far less than 95%;
#: below this the value is shown without one, saying why.
MIN_BOOTSTRAP_UNITS = 5


@functools.lru_cache(maxsize=2)
def _resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n)`` times each sample is drawn (read-only; a task's metrics share it)."""
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples)
    counts = counts.astype(np.float64)
    counts.flags.writeable = False
    return counts


def bootstrap_interval(
    statistic: Callable[[np.ndarray], np.ndarray],
    per_sample: Sequence[Any] | np.ndarray,
    *,
    unit: str,
    groups: Sequence[int] | np.ndarray | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Percentile bootstrap interval of a metric over test samples (tiles, images, crops,
    bins), for runs whose seeds do not vary training.

    The metric must be a function of sums over samples (accuracy: confusion counts; R²:
    sums of 1, y, y² and squared residuals), which makes every resample one matrix
    product: ``totals = W @ per_sample``, ``W`` the ``(resamples, N)`` multinomial counts of
    the resamples (fixed RNG seed: the same run gives the same interval). With ``groups``,
    whole groups are resampled (e.g. the four crops of one tile, which are not independent).

    Args:
        statistic: maps sums ``(..., K)`` to the metric ``(...,)`` or ``(..., M)``.
        per_sample: ``(N, K)`` (or ``(N,)``) per-sample quantities.
        unit: what is resampled (``"tiles"``, ``"images"``, ...), recorded with the interval.
        groups: optional ``(N,)`` group of each sample; groups are resampled.
        resamples, level, seed: bootstrap settings.

    Returns:
        ``{"low", "high", "level", "resamples", "n", "unit", "method"}`` (``n``: samples or
        groups resampled); ``low`` / ``high`` are floats, or lists of M floats; ``None``
        with fewer than :data:`MIN_BOOTSTRAP_UNITS` samples or groups, too few to resample.
        Where the metric is undefined (NaN) in more than ``1 - level`` of the resamples
        (e.g. the F1 of a class in one test sample, absent from ~37% of them), its
        interval is NaN: the defined resamples alone would describe only those that
        happen to contain the class.

    >>> bootstrap_interval(lambda t: t[..., 0] / t[..., 1], [[1, 1]] * 5, unit="tiles")["low"]
    1.0
    """
    values = np.asarray(per_sample, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values.reshape(len(values), -1)
    if groups is not None:
        _, index = np.unique(np.asarray(groups), return_inverse=True)
        summed = np.zeros((int(index.max()) + 1 if len(index) else 0, values.shape[1]))
        np.add.at(summed, index, values)
        values = summed
    n = values.shape[0]
    if n == 0:
        raise ValueError("bootstrap_interval: no samples")
    draws = np.asarray(statistic(_resample_counts(n, resamples, seed) @ values), dtype=np.float64)
    tail = (1.0 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        low, high = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
    undefined = np.isnan(draws).mean(axis=0) > 1.0 - level
    low, high = np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)
    as_plain = lambda a: float(a) if np.ndim(a) == 0 else np.asarray(a).tolist()
    if n < MIN_BOOTSTRAP_UNITS:  # one sample: [x, x]; a few: far from 95% coverage
        as_plain = lambda a: None if np.ndim(a) == 0 else [None] * int(np.size(a))
    return {"low": as_plain(low), "high": as_plain(high), "level": level, "resamples": resamples,
            "n": int(n), "unit": unit, "method": "percentile bootstrap over test samples"}


def seeds_agree(*summaries: Mapping[str, Any]) -> bool:
    """Whether seeds did not vary these :func:`mean_std` summaries (one seed, or a std of 0
    everywhere): then a bootstrap interval over test samples is the spread to show."""
    for summary in summaries:
        std = np.asarray(summary.get("std", 0.0), dtype=np.float64)
        if summary.get("n", 0) > 1 and np.any(np.nan_to_num(std) != 0):
            return False
    return True


def first_seed_intervals(per_seed: Sequence[Mapping[str, Any]],
                         *summaries: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bootstrap intervals of the first seed's row (``row["intervals"]``) when seeds
    agree on ``summaries`` (:func:`seeds_agree`), each tagged with that seed; else ``None``
    (the spread over seeds is the one to show)."""
    if not per_seed or not seeds_agree(*summaries):
        return None
    seed = per_seed[0].get("seed")

    def tagged(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        if "low" in value and "high" in value:
            return {**value, "seed": seed}
        return {key: tagged(item) for key, item in value.items()}

    return tagged(dict(per_seed[0].get("intervals") or {}))


def f1_per_class_of_totals(totals: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 per class ``(..., C)`` from summed confusion counts ``(..., C*C)`` (rows = truth);
    NaN for a class neither present nor predicted."""
    counts = totals.reshape(*totals.shape[:-1], n_classes, n_classes)
    tp = np.diagonal(counts, axis1=-2, axis2=-1)
    denominator = counts.sum(axis=-1) + counts.sum(axis=-2)  # 2 TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), np.nan)


def weighted_f1_of_totals(totals: np.ndarray, n_classes: int) -> np.ndarray:
    """Weighted F1 ``(...,)`` (scikit-learn's ``average="weighted"``, ``zero_division=0``) of
    summed confusion counts ``(..., C*C)`` (rows = truth), e.g. the bootstrap's resampled
    totals of one-hot confusion cells."""
    support = totals.reshape(*totals.shape[:-1], n_classes, n_classes).sum(axis=-1)
    f1 = np.nan_to_num(f1_per_class_of_totals(totals, n_classes))
    return (f1 * support).sum(axis=-1) / support.sum(axis=-1)


def macro_f1_of_totals(totals: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean of :func:`f1_per_class_of_totals` over the classes where it is defined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(f1_per_class_of_totals(totals, n_classes), axis=-1)


def class_indices(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                  n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as int64 ``(N,)`` class indices, refused (:class:`DataError`)
    unless they are two non-empty 1-D arrays of one length with values in
    ``0..n_classes - 1``: an index out of range would silently land in another cell of a
    flattened confusion matrix (``y_true * n_classes + y_pred``), or fail as a bare
    ``IndexError``."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise DataError(f"y_true and y_pred: expected two 1-D arrays of one length, got shapes "
                        f"{y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:  # an accuracy of no samples is undefined, not 0 or NaN in a table
        raise DataError("y_true and y_pred: no samples to score (both are empty)")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            first = int(np.flatnonzero((labels < 0) | (labels >= n_classes))[0])
            raise DataError(f"{name}: expected class indices in 0..{n_classes - 1} "
                            f"(n_classes={n_classes}), got {int(labels[first])} at index {first}")
    return y_true, y_pred


def classification_intervals(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                             n_classes: int, *, unit: str,
                             groups: Sequence[int] | np.ndarray | None = None,
                             ) -> dict[str, dict[str, Any]]:
    """Intervals of ``accuracy``, ``per_class_accuracy`` (recall), ``f1_weighted`` and
    ``avg_f1`` (macro over classes present or predicted) over classified samples ``(N,)``
    (or over their ``groups``, see :func:`bootstrap_interval`); labels as :func:`class_indices`
    checks them."""
    y_true, y_pred = class_indices(y_true, y_pred, n_classes)
    onehot = np.eye(n_classes)
    cells = onehot[y_true][:, :, None] * onehot[y_pred][:, None, :]  # (N, C, C): one count each
    per_sample = cells.reshape(len(y_true), -1)
    square = lambda totals: totals.reshape(*totals.shape[:-1], n_classes, n_classes)

    def recall(totals: np.ndarray) -> np.ndarray:
        support = square(totals).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.diagonal(square(totals), axis1=-2, axis2=-1)
                    / np.where(support > 0, support, np.nan))

    def accuracy(totals: np.ndarray) -> np.ndarray:
        return np.trace(square(totals), axis1=-2, axis2=-1) / totals.sum(axis=-1)

    interval = lambda statistic: bootstrap_interval(statistic, per_sample, unit=unit, groups=groups)
    return {"accuracy": interval(accuracy), "per_class_accuracy": interval(recall),
            "f1_weighted": interval(lambda totals: weighted_f1_of_totals(totals, n_classes)),
            "avg_f1": interval(lambda totals: macro_f1_of_totals(totals, n_classes))}


def mean_interval(per_sample: Sequence[Any] | np.ndarray, *, unit: str,
                  groups: Sequence[int] | np.ndarray | None = None) -> dict[str, Any]:
    """Interval of the mean over samples of per-sample values ``(N,)`` or ``(N, K)`` (e.g.
    each test bin's hit, each image's IoU per class)."""
    values = np.asarray(per_sample, dtype=np.float64)
    if len(values) == 0:  # reshape(0, -1) would fail with a message about sizes
        raise ValueError("mean_interval: no samples")
    columns = values.reshape(len(values), -1)
    with_count = np.concatenate([columns, np.ones((len(values), 1))], axis=1)
    mean = lambda totals: totals[..., :-1] / totals[..., -1:]
    flat = lambda totals: mean(totals)[..., 0] if values.ndim == 1 else mean(totals)
    return bootstrap_interval(flat, with_count, unit=unit, groups=groups)


def r2_interval(y_true: np.ndarray, y_pred: np.ndarray, *, unit: str,
                groups: Sequence[int] | np.ndarray | None = None) -> dict[str, Any]:
    """Interval of R² per column of ``(N, F)`` targets and predictions (1 - SSE / SST, from
    sums of 1, y, y² and squared residuals; NaN where a resample has a constant target)."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    f = y_true.shape[1]
    per_sample = np.concatenate([y_true, y_true**2, (y_true - y_pred) ** 2,
                                 np.ones((len(y_true), 1))], axis=1)

    def r2(totals: np.ndarray) -> np.ndarray:
        s, s2, sse, n = (totals[..., :f], totals[..., f:2 * f], totals[..., 2 * f:3 * f],
                         totals[..., -1:])
        sst = s2 - s**2 / n
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sst > 1e-12 * np.maximum(s2, 1), 1 - sse / sst, np.nan)

    return bootstrap_interval(r2, per_sample, unit=unit, groups=groups)


def confusion_intervals(confusions: np.ndarray, *, unit: str) -> dict[str, dict[str, Any]]:
    """Intervals of the pooled per-class F1 (``f1``, a list) and their mean over defined
    classes (``avg_f1``) from one confusion matrix per sample ``(N, C, C)`` (rows = truth;
    e.g. each test image's pixel counts)."""
    confusions = np.asarray(confusions, dtype=np.float64)
    n_classes = confusions.shape[-1]
    per_sample = confusions.reshape(len(confusions), -1)
    return {"f1": bootstrap_interval(lambda t: f1_per_class_of_totals(t, n_classes), per_sample,
                                     unit=unit),
            "avg_f1": bootstrap_interval(lambda t: macro_f1_of_totals(t, n_classes), per_sample,
                                         unit=unit)}


def interval_by_name(interval: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """One interval per name from an interval of M values (``low`` / ``high`` lists of M)."""
    return {name: {**interval, "low": interval["low"][j], "high": interval["high"][j]}
            for j, name in enumerate(names)}


def describe(summary: Mapping[str, Any], interval: Mapping[str, Any] | None = None,
             digits: int = 3) -> str:
    """One value for people: ``0.812 ± 0.020 over 3 seeds`` where seeds vary it; else the
    value with its bootstrap 95% interval over test samples, and how many seeds agreed
    (``0.829 [0.801, 0.855] 95% CI over 120 test tiles; deterministic: identical over 3
    seeds``), never a std of zero.

    Args:
        summary: a :func:`mean_std` summary of one value, ``{"mean", "std", "n"}``.
        interval: its :func:`bootstrap_interval`, when recorded.
    """
    value, wording = _value_and_wording(summary, interval, digits)
    return value if wording is None else f"{value} {wording}"


def plus_minus(mean: float, std: float, digits: int = 3) -> str:
    """``0.812 ± 0.020``; a std above 0 that would round to zero at ``digits`` decimals gets
    as many more as show its first digit (``0.9995 ± 0.0004``, not ``0.999 ± 0.000``, which
    reads as "the seeds agreed"), or, beyond three more, a power of ten (``0.600 ± 8e-17``:
    seeds that differ in the last bit).

    >>> plus_minus(0.9995, 0.0004)
    '0.9995 ± 0.0004'
    """
    if np.isfinite(std) and 0 < std < 0.5 * 10.0**-digits:
        needed = int(np.ceil(-np.log10(std)))
        if needed > digits + 3:
            return f"{mean:.{digits}f} ± {std:.0e}"
        digits = needed
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def spread_text(summary: Mapping[str, Any], digits: int = 3) -> str:
    """``0.812 ± 0.020`` where seeds vary the value (:func:`varies`), else ``0.812``: for a
    value beside others whose line already says the seeds and intervals.

    >>> spread_text({"mean": 0.6, "std": 0.0, "n": 3})
    '0.600'
    """
    if varies(summary):
        return plus_minus(summary["mean"], summary["std"], digits)
    return f"{summary['mean']:.{digits}f}"


def varies(summary: Mapping[str, Any]) -> bool:
    """Whether seeds gave different values: a std over several seeds that is not 0."""
    std = summary.get("std") or 0.0
    return summary.get("n", 1) > 1 and bool(np.isfinite(std)) and std > 0


def _value_and_wording(summary: Mapping[str, Any], interval: Mapping[str, Any] | None,
                       digits: int, run_varies: bool = False) -> tuple[str, str | None]:
    """:func:`describe`'s text as the value with its interval (``0.829 [0.801, 0.855]``) and
    the interval's wording (``95% CI over ...; 1 seed``), ``None`` where it has no interval.
    ``run_varies``: the seeds changed another value of the same run, so a value equal over
    them is a coincidence, not a deterministic method."""
    mean, std, n = summary["mean"], summary.get("std") or 0.0, summary.get("n", 1)
    if mean is None or not np.isfinite(mean):
        return "undefined", None
    if varies(summary):
        return f"{plus_minus(mean, std, digits)} over {n} seeds", None
    if n > 1 and run_varies:
        return f"{mean:.{digits}f} (identical over {n} seeds)", None
    seeds = f"deterministic: identical over {n} seeds" if n > 1 else "1 seed"
    few = interval is not None and interval.get("n", MIN_BOOTSTRAP_UNITS) < MIN_BOOTSTRAP_UNITS
    if few and interval.get("low") is None:
        fewer = f" (fewer than {MIN_BOOTSTRAP_UNITS})" if interval["n"] > 1 else ""
        return f"{mean:.{digits}f}", (f"no 95% CI, from {interval['n']} {interval['unit']}"
                                      f"{fewer}; {seeds}")
    if interval is None or interval.get("low") is None:
        return f"{mean:.{digits}f}; {seeds}", None
    return (f"{mean:.{digits}f} [{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]",
            f"95% CI over {interval['n']} {interval['unit']}; {seeds}")


def describe_row(named: list[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]],
                 digits: int = 3, run_varies: bool | None = None) -> str:
    """``name value`` for each ``(name, summary, interval)`` (:func:`describe`) on one line;
    where every value has the same interval wording (``95% CI over 24 test tiles; ...``) it
    is said once at the end instead of after each value. Where the seeds vary one value, a
    value equal over them is "identical over N seeds", not "deterministic"."""
    if run_varies is None:  # a caller with more values of the run than it prints says
        run_varies = any(varies(summary) for _, summary, _ in named)
    parts = [(name, *_value_and_wording(summary, interval, digits, run_varies))
             for name, summary, interval in named]
    wordings = {wording for _, _, wording in parts}
    if len(parts) < 2 or len(wordings) != 1 or None in wordings:
        return ", ".join(f"{name} {value}" + (f" {wording}" if wording else "")
                         for name, value, wording in parts)
    return ", ".join(f"{name} {value}" for name, value, _ in parts) + f" ({wordings.pop()})"
