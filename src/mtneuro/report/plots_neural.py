"""Plots of a neural-decoding run: confusion matrix, 2-D view of the representation, learning curve.

All take plain arrays, so they serve every method (``mtneuro neural`` writes all three);
:func:`mtneuro.report.task_figures.neural_figures` gives each a title naming the method,
the recording (data source) and the seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np

from mtneuro.report.figures import (
    new_subplots,
    plot_confusion_matrix,
    save_figure,
    styled,
    wrap_title,
)


def plot_decoding_confusion(
    pred: np.ndarray, label: np.ndarray, class_names: Sequence[str], path: str | Path, *,
    title: str = "", unit: str = "test samples", note: str = ""
) -> Path:
    """Confusion matrix of test predictions (8 reach directions or 3 arousal states).

    The title gets the accuracy read from the matrix shown (its diagonal over all its
    counts of ``unit``), as task-1 confusion titles have it, then ``note`` (e.g. a metric
    that cannot be read from the matrix).
    """
    n = len(class_names)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (np.asarray(label, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    total, right = int(counts.sum()), int(np.trace(counts))
    lines = [title] if title else []
    if total:
        lines.append(f"accuracy {right / total:.3f} = {right}/{total} {unit} on the diagonal")
    return plot_confusion_matrix(counts, class_names, path,
                                 title="\n".join(lines + ([note] if note else [])))


def project_2d(features: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, 2): the first two principal components (centred SVD)."""
    x = np.asarray(features, dtype=np.float64)
    x = x - x.mean(axis=0)
    if x.shape[1] < 2:
        return np.column_stack([x[:, 0], np.zeros(len(x))])
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T


@styled
def plot_representation_2d(
    features: np.ndarray, label: np.ndarray, class_names: Sequence[str], path: str | Path, *, title: str = ""
) -> Path:
    """Test representation projected on its first two principal components, coloured by class
    (each axis says the share of the variance it holds; a class without test samples is
    named in the legend as such, not left out unsaid)."""
    xy = project_2d(features)
    centred = np.asarray(features, dtype=np.float64)
    total = float(((centred - centred.mean(axis=0)) ** 2).sum())
    share = (xy**2).sum(axis=0) / total if total > 0 else np.zeros(2)
    label = np.asarray(label)
    width = 5.0
    fig, ax = new_subplots(figsize=(width, 4.5))
    cmap = matplotlib.colormaps["hsv" if len(class_names) > 3 else "tab10"]
    for c, name in enumerate(class_names):
        sel = label == c
        if sel.any():
            colour = cmap(c / len(class_names)) if len(class_names) > 3 else cmap(c)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=8, color=colour, label=name, alpha=0.8)
        else:
            ax.scatter([], [], s=8, color="none", label=f"{name} (no test samples)")
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of the variance)")
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of the variance)")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    if title:
        ax.set_title(wrap_title(title, width))
    return save_figure(fig, path)


@styled
def plot_learning_curve(curve: Sequence[Mapping[str, float]], path: str | Path, *, title: str = "",
                        selection: Sequence[Mapping[str, float]] = (),
                        selected_step: float | None = None, retrained: bool = False) -> Path:
    """Training losses against optimiser step (every ``*loss`` key of the rows) and, when
    given, the validation accuracy of each checkpoint (right axis) with the one kept marked.
    ``retrained``: the losses are of the encoder retrained on training + validation bins up
    to the kept step, the validation accuracies of the first pass, which chose it."""
    width = 5.5
    fig, ax = new_subplots(figsize=(width, 3.5))
    steps = np.array([row["step"] for row in curve])
    keys = sorted({k for row in curve for k in row if k.endswith("loss")})
    # a term equal to the total everywhere (BYOL's byol_loss) is one curve hidden under another
    keys = [k for k in keys if k == "loss" or "loss" not in keys
            or any(row.get(k) != row.get("loss") for row in curve)]
    suffix = " (retrained, train + val)" if retrained else ""
    for key in keys:
        ax.plot(steps, [row.get(key, np.nan) for row in curve], label=key + suffix, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    axes = [ax]
    if selection:
        right = ax.twinx()
        right.plot([r["step"] for r in selection], [r["accuracy"] for r in selection], "k.-", lw=0.8,
                   label="validation accuracy" + (" (first pass)" if retrained else ""))
        if selected_step is not None:
            right.axvline(selected_step, color="k", ls=":", lw=0.8, label=f"kept: step {selected_step:.0f}")
        right.set_ylabel("validation accuracy")
        axes.append(right)
    handles = [h for a in axes for h in a.get_legend_handles_labels()[0]]
    if handles:  # below the axes: inside, it covered the curves' ends
        ax.legend(handles, [h.get_label() for h in handles], fontsize=8, ncol=2,
                  loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    if title:
        ax.set_title(wrap_title(title, width))
    return save_figure(fig, path)
