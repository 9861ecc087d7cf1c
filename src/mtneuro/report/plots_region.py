"""Task-1 figures: confusion matrix (summed over seeds) and per-class accuracy.

Both titles name the method, the setting, the data source and the seeds drawn (a bench
cell runs one seed, while its leaderboard row may aggregate several). Error bars (issue 19):
the std over seeds where seeds gave different numbers; with one seed, or seeds that agree
exactly, the recorded bootstrap 95% interval over test tiles (``intervals``), its n and unit
in the title; none where neither exists (:func:`figures.seeds_note` says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.report.figures import (
    new_subplots,
    plot_confusion_matrix,
    save_figure,
    seeds_note,
    styled,
    wrap_title,
)
from mtneuro.report.leaderboard import data_source_label
from mtneuro.stats import plus_minus


def seeds_drawn(result: Mapping[str, Any]) -> str:
    """The seeds a task-1 result holds, as its titles name them: ``"seed 0"``, ``"seeds 0, 1"``,
    or ``"3 seeds"`` where ``per_seed`` does not name them all."""
    n = result["accuracy"]["n"]
    seeds = [r.get("seed") for r in result.get("per_seed") or () if isinstance(r, Mapping)]
    if len(seeds) != n or any(s is None for s in seeds):
        return f"{n} seed" + ("s" if n != 1 else "")
    return ("seed " if n == 1 else "seeds ") + ", ".join(map(str, seeds))


def _values(values: Any) -> np.ndarray:
    """A recorded list of numbers as floats, ``None`` (undefined) as NaN."""
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def recorded_interval(intervals: Mapping[str, Any] | None,
                      key: str) -> Mapping[str, Any] | None:
    """The bootstrap interval over test samples of ``key`` in ``intervals`` (a result's
    ``intervals``, recorded only where seeds did not vary the results), or None where there
    is none or it has no bounds (one test sample)."""
    interval = (intervals or {}).get(key)
    if not isinstance(interval, Mapping):
        return None
    low = interval.get("low")
    bounds = low if isinstance(low, list) else [low]
    return None if all(v is None for v in bounds) else interval


def interval_words(interval: Mapping[str, Any], n_seeds: int = 1) -> str:
    """``bootstrap 95% interval over 28 test tiles of seed 0``: the seed (where recorded)
    only among several, whose intervals are the first seed's."""
    seed = interval.get("seed")
    seed = f" of seed {seed}" if seed is not None and n_seeds > 1 else ""
    return (f"bootstrap {interval.get('level', 0.95):.0%} interval over {interval['n']} "
            f"{interval['unit']}{seed}")


@styled
def plot_task1(result: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``confusion.png`` and ``per_class_accuracy.png`` for a :func:`run_task1` result.

    Returns:
        The paths written.
    """
    out_dir = Path(out_dir)
    names = list(result["class_names"])
    acc = result["accuracy"]
    source = data_source_label({"source": result.get("source")})
    seeds_vary = acc["n"] > 1 and bool(acc["std"])
    # "± std over seeds", as per_class_accuracy.png's note says of its bars
    value = (f"{plus_minus(acc['mean'], acc['std'])} (± std over seeds)" if seeds_vary
             else f"{acc['mean']:.3f}")
    drawn = seeds_drawn(result)
    overall = recorded_interval(result.get("intervals"), "accuracy") if not seeds_vary else None
    if overall is not None:  # the interval the table shows beside this value
        value += (f" [{overall['low']:.3f}, {overall['high']:.3f}], "
                  f"{interval_words(overall, acc['n'])}")
    # "summed" only where it is true: one seed's counts are that seed's alone
    counts = (f"{drawn}: accuracy {value}" if acc["n"] == 1 else
              f"accuracy {value}, mean over {drawn} (n={acc['n']}); "
              f"counts summed over the {acc['n']} seeds")
    scored = int(np.asarray(result["confusion"]).sum())  # crops, where tiles were cut
    title = (f"task 1 {result['setting']} {result['method']} ({result['dim']}) on {source}, "
             f"{counts}; the matrix counts {scored} scored test inputs")
    paths = [
        plot_confusion_matrix(
            np.asarray(result["confusion"]), names, out_dir / "confusion.png", title=title
        )
    ]
    per_class = result["per_class_accuracy"]
    varies = acc["n"] > 1 and bool(np.nanmax(np.asarray(per_class["std"], dtype=float), initial=0))
    fig, ax = new_subplots(figsize=(5.0, 3.4))
    positions = np.arange(len(names))
    means = np.asarray(per_class["mean"], dtype=float)
    ax.bar(positions, np.nan_to_num(means), color="tab:blue",
           **({"yerr": per_class["std"], "capsize": 3} if varies else {}))
    bars = None if varies else recorded_interval(result.get("intervals"), "per_class_accuracy")
    if bars is not None:
        # drawn from its own ends, not as mean ± distance: a percentile interval need not
        # be centred on (or even hold) the value; a NaN end (no test sample) draws nothing
        low, high = _values(bars["low"]), _values(bars["high"])
        ax.errorbar(positions, (low + high) / 2, yerr=(high - low) / 2, fmt="none",
                    ecolor="black", capsize=3, lw=1)
    for x in positions[np.isnan(means)]:  # undefined, not 0: the class has no test sample
        ax.text(x, 0.02, "no test\nsamples", ha="center", va="bottom", fontsize=8,
                color="0.35")
    ax.axhline(acc["mean"], color="black", lw=1, ls="--", label="overall\naccuracy")
    ax.set_xticks(positions, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (recall)")
    note = seeds_note(acc["n"], acc["std"] if varies else 0.0)
    if bars is not None:  # "no error bar" would be false: the test-sample interval is drawn
        seeds = "n=1 seed" if acc["n"] <= 1 else f"n={acc['n']} seeds, identical results"
        note = f"{seeds}: bars show the {interval_words(bars, acc['n'])}"
    ax.set_title(wrap_title(f"task 1 {result['setting']} {result['method']} ({result['dim']}) "
                            f"on {source}, {drawn}\n{note}", 5.0))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # never over a bar
    paths.append(save_figure(fig, out_dir / "per_class_accuracy.png"))
    return paths
