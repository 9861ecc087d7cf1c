"""Task-1 figures: confusion matrix (summed over seeds) and per-class accuracy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import plot_confusion_matrix, plt, save_figure


def plot_task1(result: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``confusion.png`` and ``per_class_accuracy.png`` for a :func:`run_task1` result.

    Returns:
        The paths written.
    """
    out_dir = Path(out_dir)
    names = list(result["class_names"])
    acc = result["accuracy"]
    spread = f" ± {acc['std']:.3f}, {acc['n']} seeds" if acc["n"] > 1 else ", 1 seed"
    title = (
        f"task 1 {result['setting']} {result['method']} ({result['dim']}): "
        f"{acc['mean']:.3f}{spread}"
    )
    paths = [
        plot_confusion_matrix(
            np.asarray(result["confusion"]), names, out_dir / "confusion.png", title=title
        )
    ]
    per_class = result["per_class_accuracy"]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    positions = np.arange(len(names))
    ax.bar(
        positions,
        np.nan_to_num(per_class["mean"]),
        yerr=per_class["std"],
        capsize=3,
        color="tab:blue",
    )
    ax.axhline(acc["mean"], color="black", lw=1, ls="--", label="overall")
    ax.set_xticks(positions, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (recall)")
    ax.set_title(f"{result['method']}, {result['setting']}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    paths.append(save_figure(fig, out_dir / "per_class_accuracy.png"))
    return paths
