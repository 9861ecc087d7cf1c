"""Task-2 pictures: test tiles with their true and predicted microstructure labels.

One PNG per region; each row is a tile, the columns are the image, the truth
overlaid on it and the prediction overlaid on it. 3D blocks show their middle
slice. Class colours: vessel red, cell green, axon blue; background (and, in
the 3-class setting, background+axon) is left uncoloured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtneuro.report.figures import plt, save_figure

#: RGB per class name; classes not listed are not coloured.
CLASS_COLOURS = {"vessel": (0.9, 0.1, 0.1), "cell": (0.1, 0.8, 0.1), "axon": (0.2, 0.4, 1.0)}


def label_overlay(
    image: np.ndarray, labels: np.ndarray, class_names: Sequence[str], alpha: float = 0.45
) -> np.ndarray:
    """Grey image with coloured labels blended in.

    Args:
        image: uint8 (H, W).
        labels: class indices (H, W).
        class_names: name per class index (colours from :data:`CLASS_COLOURS`).

    Returns:
        float RGB (H, W, 3) in [0, 1].
    """
    grey = np.repeat((np.asarray(image, dtype=np.float64) / 255.0)[..., None], 3, axis=-1)
    colours = np.array([CLASS_COLOURS.get(name, (np.nan,) * 3) for name in class_names])
    painted = colours[np.asarray(labels, dtype=np.int64)]
    coloured = ~np.isnan(painted[..., 0])
    grey[coloured] = (1 - alpha) * grey[coloured] + alpha * painted[coloured]
    return grey


def _middle_slice(array: np.ndarray) -> np.ndarray:
    return array[array.shape[0] // 2] if array.ndim == 3 else array


def plot_overlays(
    images: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    row_labels: Sequence[str] | None = None,
) -> Path:
    """Save a grid: one row per tile, columns image / truth / prediction.

    Args:
        images: uint8 (K, H, W) or (K, D, H, W) (the middle slice is shown).
        truth, prediction: class indices shaped like ``images``.
        class_names: names of the class indices.
        path: PNG to write.
        row_labels: optional text per row (e.g. ``"z=420"``).
    """
    k = images.shape[0]
    if k == 0:
        raise ValueError("no tiles to plot")
    fig, axes = plt.subplots(k, 3, figsize=(9, 3 * k), squeeze=False)
    for row in range(k):
        image = _middle_slice(images[row])
        panels = (
            np.repeat((image / 255.0)[..., None], 3, axis=-1),
            label_overlay(image, _middle_slice(truth[row]), class_names),
            label_overlay(image, _middle_slice(prediction[row]), class_names),
        )
        for col, (panel, name) in enumerate(zip(panels, ("image", "truth", "prediction"))):
            ax = axes[row, col]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name)
        if row_labels is not None:
            axes[row, 0].set_ylabel(row_labels[row])
    legend = [name for name in class_names if name in CLASS_COLOURS]
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLOURS[n]) for n in legend]
    fig.legend(handles, legend, loc="lower center", ncol=max(1, len(legend)), frameon=False)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_region_overlays(
    examples: dict, out_dir: str | Path, *, prefix: str = "overlay"
) -> list[Path]:
    """One overlay PNG per region from ``run_task2(...)["examples"]``.

    Returns:
        paths written, ``out_dir/<prefix>_<region>.png``.
    """
    if not examples or len(examples["region"]) == 0:
        return []
    paths = []
    region = np.asarray(examples["region"])
    for r in np.unique(region):
        rows = np.flatnonzero(region == r)
        name = examples["region_names"][int(r)]
        paths.append(
            plot_overlays(
                examples["image"][rows],
                examples["truth"][rows],
                examples["prediction"][rows],
                examples["class_names"],
                Path(out_dir) / f"{prefix}_{name}.png",
                title=f"{name}: image / truth / prediction",
            )
        )
    return paths
