"""Matplotlib basics shared by every plot: headless backend, saving, confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig: "plt.Figure", path: str | Path, dpi: int = 120) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    normalize: bool = True,
) -> Path:
    """Confusion matrix (rows = truth, columns = prediction), counts annotated."""
    counts = np.asarray(matrix, dtype=np.float64)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    size = max(3.5, 0.6 * len(class_names) + 1.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            color = "white" if shown[i, j] > 0.5 * (shown.max() or 1) else "black"
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", color=color, fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
