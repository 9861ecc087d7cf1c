"""Task-1 figures: confusion matrix (summed over seeds) and per-class accuracy.

Both titles name the method, the setting and the data source; error bars are drawn
only where several seeds gave different numbers (:func:`figures.seeds_note` says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import plot_confusion_matrix, plt, save_figure, seeds_note, wrap_title
from mtneuro.report.leaderboard import data_source_label


def plot_task1(result: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``confusion.png`` and ``per_class_accuracy.png`` for a :func:`run_task1` result.

    Returns:
        The paths written.
    """
    out_dir = Path(out_dir)
    names = list(result["class_names"])
    acc = result["accuracy"]
    source = data_source_label({"source": result.get("source")})
    spread = f" ± {acc['std']:.3f}" if acc["n"] > 1 and acc["std"] else ""
    title = (f"task 1 {result['setting']} {result['method']} ({result['dim']}) on {source}: "
             f"accuracy {acc['mean']:.3f}{spread}, n={acc['n']} seed(s), counts summed over seeds")
    paths = [
        plot_confusion_matrix(
            np.asarray(result["confusion"]), names, out_dir / "confusion.png", title=title
        )
    ]
    per_class = result["per_class_accuracy"]
    varies = acc["n"] > 1 and bool(np.nanmax(np.asarray(per_class["std"], dtype=float), initial=0))
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    positions = np.arange(len(names))
    ax.bar(positions, np.nan_to_num(per_class["mean"]), color="tab:blue",
           **({"yerr": per_class["std"], "capsize": 3} if varies else {}))
    ax.axhline(acc["mean"], color="black", lw=1, ls="--", label="overall\naccuracy")
    ax.set_xticks(positions, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (recall)")
    note = seeds_note(acc["n"], acc["std"] if varies else 0.0)
    ax.set_title(wrap_title(f"task 1 {result['setting']} {result['method']} on {source}\n{note}",
                            5.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # never over a bar
    paths.append(save_figure(fig, out_dir / "per_class_accuracy.png"))
    return paths
