"""Frozen-feature evaluation: batched feature extraction, probes and their numerics.

* :func:`extract_features` (:mod:`mtneuro.tasks.features`, re-exported here): features
  of a frozen encoder, in batches, ``no_grad``, eval mode.
* :class:`LinearProbe` (logistic regression, ``C`` on validation or by stratified CV) and
  :class:`RidgeProbe` (ridge, one ``alpha`` per target by CV over contiguous blocks):
  scikit-learn estimators, defined in :mod:`mtneuro.tasks.probe_estimators` and imported
  from there on first use here. They derive from ``sklearn.base`` (about a second to
  import), which the task configs, importing this module for :data:`DEFAULT_CS` and
  :data:`DEFAULT_ALPHAS` (so ``mtneuro bench --dry-run``), have no use for.
* :class:`Standardizer`, :func:`contiguous_folds`, :func:`ridge_solutions`,
  :func:`r2_scores`, :func:`single_thread_blas`: the numerics they share with the neural
  readouts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from mtneuro.errors import DataError
from mtneuro.registry import lazy_dir
from mtneuro.tasks.features import checked_finite, extract_features

if TYPE_CHECKING:
    from mtneuro.tasks.probe_estimators import LinearProbe, RidgeProbe

__all__ = ["DEFAULT_ALPHAS", "DEFAULT_CS", "LinearProbe", "RidgeProbe", "Standardizer",
           "checked_finite", "contiguous_folds", "extract_features", "r2_scores",
           "ridge_solutions", "single_thread_blas"]

DEFAULT_CS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
DEFAULT_ALPHAS: tuple[float, ...] = tuple(10.0 ** np.arange(-3, 6))

_ESTIMATORS = frozenset({"LinearProbe", "RidgeProbe"})


def __getattr__(name: str) -> Any:
    if name in _ESTIMATORS:
        from mtneuro.tasks import probe_estimators

        return getattr(probe_estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__dir__ = lazy_dir(globals(), _ESTIMATORS)


def single_thread_blas() -> threadpool_limits:
    """Context limiting BLAS to one thread.

    The probe and baseline matrices are small (thousands x hundreds); multi-threaded
    OpenBLAS gains nothing there and, on a shared CPU, its spinning threads made an
    SVD of 336 x 1024 pixels 10-40x slower than one thread in our measurements.
    """
    return threadpool_limits(limits=1, user_api="blas")


class Standardizer:
    """Column means and scales of a training matrix (constant columns keep scale 1).

    Args:
        x: (n, d) training matrix.
        min_scale: a column whose std is at most this counts as constant; default
            ``1e-12`` times the column's magnitude (``max(|mean|, 1)``).
    """

    def __init__(self, x: np.ndarray, min_scale: float | None = None) -> None:
        self.mean = x.mean(axis=0)
        scale = x.std(axis=0)
        floor = 1e-12 * np.maximum(np.abs(self.mean), 1.0) if min_scale is None else min_scale
        self.scale = np.where(scale > floor, scale, 1.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale


def contiguous_folds(n: int, folds: int, groups: np.ndarray | None = None) -> list[np.ndarray]:
    """Validation index sets of k-fold CV over contiguous blocks.

    Without ``groups`` the samples are cut in ``folds`` contiguous blocks in their
    order; with ``groups`` (e.g. the z slice of each tile) the sorted distinct group
    values are cut in contiguous blocks, so neighbouring slices (which look alike)
    never sit on both sides of a fold.
    """
    if groups is None:
        return [b for b in np.array_split(np.arange(n), folds) if b.size]
    groups = np.asarray(groups)
    if groups.shape != (n,):  # samples without a group would never be validated
        raise DataError(f"groups: expected one per sample, shape ({n},), got {groups.shape}")
    values = np.unique(groups)
    if values.size < folds:
        raise DataError(f"cv: {folds} folds need as many distinct groups (z slices) of training "
                        f"samples, there are {values.size}; lower cv")
    return [np.flatnonzero(np.isin(groups, block)) for block in np.array_split(values, folds)]


def ridge_solutions(x: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Ridge weights for every alpha at once: ``(n_alphas, d, t)`` from one thin SVD."""
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    uty = u.T @ y  # (r, t)
    shrink = s[None, :] / (s[None, :] ** 2 + alphas[:, None])  # (a, r)
    return np.einsum("dr,ar,rt->adt", vt.T, shrink, uty)


def r2_scores(y_true: np.ndarray, y_pred: np.ndarray) -> float | np.ndarray:
    """Coefficient of determination ``1 - SSE / SST`` of each target.

    Args:
        y_true, y_pred: ``(n,)`` (one target) or ``(n, t)``, the same shape.

    Returns:
        a ``float`` for ``(n,)`` inputs, a float64 ``(t,)`` array for ``(n, t)`` ones.
        Equal to ``sklearn.metrics.r2_score(..., multioutput="raw_values")`` except for a
        constant target, whose R^2 is undefined: NaN here (sklearn gives 1.0 or 0.0 by
        default, NaN or -inf with ``force_finite=False``), so a mean over seeds or
        targets (:func:`mtneuro.stats.mean_std`) leaves it out rather than counting a
        made-up 0 or 1.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    # (n,) against (n, 1) would broadcast to an (n, n) table of wrong residuals
    if y_true.shape != y_pred.shape or y_true.ndim not in (1, 2):
        raise DataError(f"r2_scores: expected y_true and y_pred of one shape (n,) or (n, t), "
                        f"got {y_true.shape} and {y_pred.shape}")
    sse = ((y_true - y_pred) ** 2).sum(axis=0)
    sst = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    # equal values, not sst > 0: a mean of ten 0.3s is off in the last bit, leaving sst ~1e-32
    varying = (y_true != y_true[:1]).any(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(varying, 1.0 - sse / np.where(varying, sst, 1.0), np.nan)
    return float(r2) if y_true.ndim == 1 else r2
