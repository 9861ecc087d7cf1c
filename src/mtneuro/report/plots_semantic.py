"""Task-3 figure: predicted vs true value of every semantic feature on the test crops.

Each panel gives the held-out R² with its spread (issue 19): ± std where seeds gave
different values, else the recorded bootstrap 95% interval over test tiles; the title says
which, with n and unit, and that the in-sample R² (fit and scored on every crop) has no
test-sample interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import new_subplots, save_figure, styled, wrap_title
from mtneuro.report.leaderboard import data_source_label
from mtneuro.report.plots_region import interval_words, recorded_interval
from mtneuro.stats import plus_minus, varies
from mtneuro.tasks.semantic import FEATURE_TITLES as TITLES

COLUMNS = 3
PANEL_IN = 2.4


def _r2_line(result: Mapping[str, Any], name: str) -> str:
    """``R² test 0.19 [0.05, 0.31] (in-sample 0.60)``: held-out first with its spread (±
    std over seeds, or the test-sample interval), the published definition beside it."""
    test = result["r2_test"][name]
    interval = recorded_interval((result.get("intervals") or {}).get("r2_test"), name)
    value = (plus_minus(test["mean"], test["std"], 2) if varies(test) else
             f"{test['mean']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}]"
             if interval is not None else f"{test['mean']:.2f}")
    in_sample = (result.get("r2_in_sample_reference") or {}).get(name)
    # with a spread the line no longer fits a panel's width: the in-sample value goes below
    joint = "\n" if varies(test) or interval is not None else " "
    return (f"R² test {value}"
            + (f"{joint}(in-sample {in_sample['mean']:.2f})" if in_sample else ""))


def _spread_note(result: Mapping[str, Any], names: list[str], n: int) -> str:
    """What the panels' spreads are, said once for the figure (the interval's n and unit),
    and that the in-sample R² has none: it is fit and scored on every crop, none held out."""
    intervals = (result.get("intervals") or {}).get("r2_test")
    kinds = {"std" if varies(result["r2_test"][name]) else
             "interval" if recorded_interval(intervals, name) is not None else "none"
             for name in names}
    parts = [f"R² test ± std over n={n} seeds"] if "std" in kinds else []
    if "interval" in kinds:
        first = next(recorded_interval(intervals, name) for name in names
                     if recorded_interval(intervals, name) is not None)
        parts.append(f"[low, high]: {interval_words(first, n)}")
    if "none" in kinds:
        parts.append(("R² test without ± or [ ]" if len(kinds) > 1 else "R² test")
                     + ": no test-sample interval recorded")
    if result.get("r2_in_sample_reference"):
        parts.append("in-sample: fit and scored on all crops, no test-sample interval")
    return "; ".join(parts)


_SET_VALUE_LABEL = "set by definition (too few cells)"


def _set_by_definition(name: str, names: list[str], true: np.ndarray) -> np.ndarray:
    """Crops whose true ``name`` is a value its definition sets, not one measured: a distance
    with fewer than 2 cells (:data:`~mtneuro.tasks.semantic.REFERENCE_FEW_CELLS_DISTANCE`),
    the published cell size with fewer than 2 cells and any size without a cell (0)."""
    if "cell_count" not in names:
        return np.zeros(len(true), dtype=bool)
    count = true[:, names.index("cell_count")]
    least = {"nn_distance": 2, "nn_distance_exact": 2, "cell_size": 2, "cell_size_exact": 1}
    return count < least[name] if name in least else np.zeros(len(true), dtype=bool)


@styled
def plot_task3_scatter(result: Mapping[str, Any], path: str | Path) -> Path:
    """One panel per feature: held-out predictions against truth, R² in the panel title.

    Args:
        result: a :func:`mtneuro.tasks.semantic_probe.run_task3` result (uses ``scatter``,
            ``features``, ``r2_test``, ``r2_in_sample_reference``, ``method``, ``setting``,
            ``source``).
        path: PNG to write.
    """
    scatter = result["scatter"]
    true, pred = np.asarray(scatter["true"]), np.asarray(scatter["pred"])
    names = list(result["features"])
    rows = -(-len(names) // COLUMNS)
    fig, axes = new_subplots(rows, COLUMNS, figsize=(COLUMNS * PANEL_IN, rows * PANEL_IN + 0.6),
                             squeeze=False)  # fmt: skip
    for j, ax in enumerate(axes.flat):
        if j >= len(names):
            ax.axis("off")
            continue
        name = names[j]
        set_value = _set_by_definition(name, names, true)
        ax.scatter(true[~set_value, j], pred[~set_value, j], s=6, alpha=0.5, color="tab:blue",
                   edgecolors="none")
        if set_value.any():  # not a measurement: a value the definition sets (64 px, 0)
            ax.scatter(true[set_value, j], pred[set_value, j], s=10, facecolors="none",
                       edgecolors="0.45", lw=0.6, label=_SET_VALUE_LABEL)
        lo = float(min(true[:, j].min(), pred[:, j].min()))
        hi = float(max(true[:, j].max(), pred[:, j].max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="y = x")
        if j == 0 or set_value.any():
            ax.legend(fontsize=7, loc="upper left", frameon=False)
        ax.set_title(f"{TITLES.get(name, name)}\n{_r2_line(result, name)}", fontsize=9)
        ax.set_xlabel("true")
        if j % COLUMNS == 0:
            ax.set_ylabel("predicted")
    n = len(result.get("per_seed") or [None])
    source = data_source_label({"source": result.get("source")})
    fig.suptitle(wrap_title(
        f"task 3 {result.get('setting', '')} {result['method']} on {source}: held-out test "
        f"crops of seed {scatter['seed']}; R² = mean over n={n} seed(s); "
        f"{_spread_note(result, names, n)}", COLUMNS * PANEL_IN, 11))
    fig.tight_layout()
    return save_figure(fig, path)
