"""Summaries over seeds: the one mean +- std of every task, the report and the bench.

A base module (NumPy only), so every layer reports spread the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np


def mean_std(values: Sequence[Any] | np.ndarray) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof 1) over seeds.

    Args:
        values: one number per seed, ``(S,)`` (``None``, NaN and inf are left out), or
            one row of numbers per seed, ``(S, C)`` (per column, NaN-aware).

    Returns:
        ``{"mean", "std", "n"}``. For ``(S,)``: floats, ``n`` the finite values counted,
        std 0.0 for one value, and NaN mean and std with ``n`` 0 when none is finite. For
        ``(S, C)``: lists of C floats (an all-NaN column stays NaN), ``n`` = S, std 0.0 for
        one row.

    >>> mean_std([0.5, 0.7, None])
    {'mean': 0.6, 'std': 0.14142135623730948, 'n': 2}
    """
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if arr.ndim == 1:
        finite = arr[np.isfinite(arr)]
        if finite.size == 0:
            return {"mean": float("nan"), "std": float("nan"), "n": 0}
        std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        return {"mean": float(finite.mean()), "std": std, "n": int(finite.size)}
    n = arr.shape[0]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(arr, axis=0)
        std = np.nanstd(arr, axis=0, ddof=1) if n > 1 else np.zeros_like(mean)
    return {"mean": mean.tolist(), "std": std.tolist(), "n": int(n)}
