"""Task-3 figure: predicted vs true value of every semantic feature on the test crops."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import plt, save_figure
from mtneuro.tasks.semantic import FEATURE_TITLES as TITLES


def plot_task3_scatter(result: Mapping[str, Any], path: str | Path) -> Path:
    """One panel per feature: held-out predictions against truth, R^2 (test) in the title.

    Args:
        result: a :func:`mtneuro.tasks.semantic_probe.run_task3` result (uses ``scatter``,
            ``features``, ``r2_test``, ``method``).
        path: PNG to write.
    """
    scatter = result["scatter"]
    true, pred = np.asarray(scatter["true"]), np.asarray(scatter["pred"])
    names = list(result["features"])
    fig, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 3.2))
    for j, (ax, name) in enumerate(zip(np.atleast_1d(axes), names)):
        ax.scatter(true[:, j], pred[:, j], s=6, alpha=0.5, color="tab:blue", edgecolors="none")
        lo = float(min(true[:, j].min(), pred[:, j].min()))
        hi = float(max(true[:, j].max(), pred[:, j].max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
        r2 = result["r2_test"][name]
        ax.set_title(f"{TITLES.get(name, name)}\nR² test {r2['mean']:.2f}", fontsize=9)
        ax.set_xlabel("true")
        if j == 0:
            ax.set_ylabel("predicted")
    fig.suptitle(
        f"task 3 {result['method']} (seed {scatter['seed']}, held-out test crops)",
        fontsize=10,
        y=1.08,  # above the two-line panel titles
    )
    return save_figure(fig, path)
