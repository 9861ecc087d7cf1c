"""Task-2 pictures: test tiles with their true and predicted microstructure labels.

One PNG per region; each row is a tile, the columns are the image, the truth
overlaid on it and the prediction overlaid on it. 3D blocks show their middle
slice. Where the tiles' place in the volume is known, each row is labelled with the
z of the slice it shows (a 3D block's also with its slices), so a reader can find it.
Class colours come from :mod:`mtneuro.report.colors` (the same in every
figure); background (and, in the 3-class setting, background+axon) is left
uncoloured. Titles name the model, the setting, the seed and the data source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.config import to_dict
from mtneuro.report.colors import CLASS_COLOURS, class_legend
from mtneuro.report.figures import new_subplots, save_figure, scale_bar, styled, wrap_title
from mtneuro.report.leaderboard import data_source_label
from mtneuro.vocab import method_label

PANEL_IN = 2.2  # inches per image panel: 3 panels fit a thumbnail with readable titles


def label_overlay(
    image: np.ndarray, labels: np.ndarray, class_names: Sequence[str], alpha: float = 0.6
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


def _slice_label(first: int, depth: int) -> str:
    """The z of the slice a row shows (:func:`_middle_slice`), and a block's slices."""
    if depth == 1:
        return f"z={first}"
    return f"z={first + depth // 2}\n(block z={first}-{first + depth - 1})"


@styled
def plot_overlays(
    images: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    row_labels: Sequence[str] | None = None,
    z: Sequence[int] | None = None,
) -> Path:
    """Save a grid: one row per tile, columns image / truth / prediction.

    Args:
        images: uint8 (K, H, W) or (K, D, H, W) (the middle slice is shown, and the title
            says so).
        truth, prediction: class indices shaped like ``images``.
        class_names: names of the class indices.
        path: PNG to write.
        row_labels: optional text per row (e.g. the tile's place in x and y).
        z: optional z in the volume of each tile (of a block's first slice); each row is
            labelled with the z of the slice it shows.
    """
    k = images.shape[0]
    if k == 0:
        raise ValueError("no tiles to plot")
    if z is not None and len(z) != k:
        raise ValueError(f"z: expected one slice index per tile ({k}), got {len(z)}")
    if images.ndim == 4:  # a block reads as a tile unless the figure says which slice it is
        depth = images.shape[1]
        title = (f"{title}\n" if title else "") + (
            f"3D blocks of {depth} slices: slice {depth // 2 + 1} of {depth} shown"
            + (" (its z beside each row)" if z is not None else ""))
    if z is not None:
        shown = [_slice_label(int(first), images.shape[1] if images.ndim == 4 else 1)
                 for first in z]
        row_labels = shown if row_labels is None else [
            f"{label}\n{place}" for label, place in zip(row_labels, shown)]
    fig, axes = new_subplots(k, 3, figsize=(3 * PANEL_IN, PANEL_IN * k + 0.9), squeeze=False,
                             layout="constrained")
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
        scale_bar(axes[row, 0], image.shape[0])  # the previews' bar: sizes read alike
        if row_labels is not None:
            axes[row, 0].set_ylabel(row_labels[row])
    fig.legend(handles=class_legend(class_names), loc="outside lower center", ncol=4,
               frameon=False)  # below the images, never over them
    if title:
        fig.suptitle(wrap_title(title, 3 * PANEL_IN, 11))
    return save_figure(fig, path)


def plot_task2(result: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Overlay PNGs of a :func:`run_task2` result, titled with its model, setting, preset,
    seed and data source (see :func:`plot_region_overlays`).

    Returns:
        paths written, ``out_dir/overlay_<region>.png``.
    """
    metrics = result["metrics"]
    setting = metrics["setting"]
    config = result.get("config") or {}
    seeds = config.get("seeds") or ["?"]
    preset = ""
    if config.get("preset"):
        changed = _changed_from_preset(config)
        listed = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        preset = f"{config['preset']} preset{f' (changed: {listed})' if changed else ''}, "
    # ssl-unet with the encoder it fine-tuned, as the terminal line names it
    model = method_label({"model": metrics["model"], "encoder": config.get("encoder")}, "model")
    caption = (f"{model}, {setting['dim']} {setting['classes']}-class, {preset}"
               f"seed {seeds[0]}, on {data_source_label({'source': result.get('source')})}")
    return plot_region_overlays(result["examples"], out_dir, caption=caption)


#: Keys that choose where and on what a task-2 run computes, not how it trains or scores.
_NOT_PRESET = {"seeds", "source", "source_params", "device", "quiet", "eval_batch_size",
               "examples_per_region", "encoder", "encoder_name", "encoder_weights", "preset"}


def _changed_from_preset(config: Mapping[str, Any]) -> list[str]:
    """The training and scoring keys of a task-2 ``config`` (as recorded) that differ from
    its preset's values for the same model, classes and dimension (``train.epochs``): a
    title that names the preset does not pass a changed run for it."""
    from mtneuro.errors import MtneuroError
    from mtneuro.report.cell_definitions import as_json, changed_keys
    from mtneuro.tasks.segmentation.config import task2_config

    try:
        preset = to_dict(task2_config(config["preset"], model=config["model"],
                                      classes=config["classes"], dim=config.get("dim")))
    except (MtneuroError, KeyError, TypeError):  # a record of another layout: say nothing
        return []
    return changed_keys(as_json({k: v for k, v in preset.items() if k not in _NOT_PRESET}),
                        as_json({k: v for k, v in config.items()
                                 if k in preset and k not in _NOT_PRESET}))


def plot_region_overlays(
    examples: dict, out_dir: str | Path, *, prefix: str = "overlay", caption: str = ""
) -> list[Path]:
    """One overlay PNG per region from ``run_task2(...)["examples"]`` (with ``z``, the z of
    each example's first slice in the volume, each row names the slice it shows).

    Args:
        caption: first title line of every PNG; :func:`plot_task2` names the model,
            setting, seed and data source there.

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
                title=f"{caption}\n{name}: image / truth / prediction".lstrip("\n"),
                z=None if examples.get("z") is None else np.asarray(examples["z"])[rows],
            )
        )
    return paths
