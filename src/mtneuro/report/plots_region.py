"""Task-1 figures: confusion matrix (summed over seeds) and per-class accuracy.

Both titles name the method, the setting, the data source and the seeds drawn (a bench
cell runs one seed, while its leaderboard row may aggregate several); error bars are drawn
only where several seeds gave different numbers (:func:`figures.seeds_note` says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import plot_confusion_matrix, plt, save_figure, seeds_note, wrap_title
from mtneuro.report.leaderboard import data_source_label


def seeds_drawn(result: Mapping[str, Any]) -> str:
    """The seeds a task-1 result holds, as its titles name them: ``"seed 0"``, ``"seeds 0, 1"``,
    or ``"3 seeds"`` where ``per_seed`` does not name them all."""
    n = result["accuracy"]["n"]
    seeds = [r.get("seed") for r in result.get("per_seed") or () if isinstance(r, Mapping)]
    if len(seeds) != n or any(s is None for s in seeds):
        return f"{n} seed" + ("s" if n != 1 else "")
    return ("seed " if n == 1 else "seeds ") + ", ".join(map(str, seeds))


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
    drawn = seeds_drawn(result)
    # "summed" only where it is true: one seed's counts are that seed's alone
    counts = (f"{drawn}: accuracy {acc['mean']:.3f}" if acc["n"] == 1 else
              f"accuracy {acc['mean']:.3f}{spread}, mean over {drawn} (n={acc['n']}); "
              f"counts summed over the {acc['n']} seeds")
    title = f"task 1 {result['setting']} {result['method']} ({result['dim']}) on {source}, {counts}"
    paths = [
        plot_confusion_matrix(
            np.asarray(result["confusion"]), names, out_dir / "confusion.png", title=title
        )
    ]
    per_class = result["per_class_accuracy"]
    varies = acc["n"] > 1 and bool(np.nanmax(np.asarray(per_class["std"], dtype=float), initial=0))
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    positions = np.arange(len(names))
    means = np.asarray(per_class["mean"], dtype=float)
    ax.bar(positions, np.nan_to_num(means), color="tab:blue",
           **({"yerr": per_class["std"], "capsize": 3} if varies else {}))
    for x in positions[np.isnan(means)]:  # undefined, not 0: the class has no test sample
        ax.text(x, 0.02, "no test\nsamples", ha="center", va="bottom", fontsize=8,
                color="0.35")
    ax.axhline(acc["mean"], color="black", lw=1, ls="--", label="overall\naccuracy")
    ax.set_xticks(positions, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (recall)")
    note = seeds_note(acc["n"], acc["std"] if varies else 0.0)
    ax.set_title(wrap_title(f"task 1 {result['setting']} {result['method']} on {source}, "
                            f"{drawn}\n{note}", 5.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # never over a bar
    paths.append(save_figure(fig, out_dir / "per_class_accuracy.png"))
    return paths
