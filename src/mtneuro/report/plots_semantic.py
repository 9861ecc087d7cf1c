"""Task-3 figure: predicted vs true value of every semantic feature on the test crops."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import plt, save_figure, wrap_title
from mtneuro.report.leaderboard import data_source_label
from mtneuro.tasks.semantic import FEATURE_TITLES as TITLES

COLUMNS = 3
PANEL_IN = 2.4


def _r2_line(result: Mapping[str, Any], name: str) -> str:
    """``R² test 0.19 (in-sample 0.60)``: held-out first, the published definition beside it."""
    text = f"R² test {result['r2_test'][name]['mean']:.2f}"
    in_sample = (result.get("r2_in_sample_reference") or {}).get(name)
    return text + (f" (in-sample {in_sample['mean']:.2f})" if in_sample else "")


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
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(COLUMNS * PANEL_IN, rows * PANEL_IN + 0.6),
                             squeeze=False)  # fmt: skip
    for j, ax in enumerate(axes.flat):
        if j >= len(names):
            ax.axis("off")
            continue
        name = names[j]
        ax.scatter(true[:, j], pred[:, j], s=6, alpha=0.5, color="tab:blue", edgecolors="none")
        lo = float(min(true[:, j].min(), pred[:, j].min()))
        hi = float(max(true[:, j].max(), pred[:, j].max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
        ax.set_title(f"{TITLES.get(name, name)}\n{_r2_line(result, name)}", fontsize=9)
        ax.set_xlabel("true")
        if j % COLUMNS == 0:
            ax.set_ylabel("predicted")
    n = len(result.get("per_seed") or [None])
    source = data_source_label({"source": result.get("source")})
    fig.suptitle(wrap_title(
        f"task 3 {result.get('setting', '')} {result['method']} on {source}: held-out test "
        f"crops of seed {scatter['seed']}; R² = mean over n={n} seed(s)", COLUMNS * PANEL_IN, 11))
    fig.tight_layout()
    return save_figure(fig, path)
