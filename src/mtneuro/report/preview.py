"""Preview figure of a volume source: region map of a whole slice and one tile per region.

Top: the slice at depth ``z``, downsampled, titled with the source's data-source label
(the one the task figures and the leaderboard use), with the region map painted over it
(if the source has ``roi_labels``), a legend and the four published boxes.
Below: for each region its box (sub-volume A) at full resolution, as image and,
if the source has ``pixel_labels``, with the microstructure labels overlaid;
a scale bar in um (voxels are 1.17 um).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.patches import Patch, Rectangle
from matplotlib.patheffects import withStroke

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import (
    AXON,
    CELL,
    PIXEL_CLASSES,
    REGION_SHORT,
    REGIONS,
    ROI_NAMES,
    SUBVOLUME_A,
    SUBVOLUME_Z,
    VESSEL,
    VOXEL_SIZE_UM,
)
from mtneuro.errors import ConfigError
from mtneuro.report.colors import CLASS_COLOURS
from mtneuro.report.figures import new_figure, save_figure, scale_bar, styled
from mtneuro.report.leaderboard import data_source_label

#: Region colours by roi id (RGB in [0, 1]); clear is left unpainted.
ROI_COLOURS = {
    1: (0.25, 0.35, 0.90),
    2: (0.90, 0.25, 0.25),
    3: (0.55, 0.90, 0.25),
    4: (0.25, 0.80, 0.90),
    5: (0.85, 0.35, 0.85),
    6: (0.95, 0.80, 0.25),
    7: (0.20, 0.70, 0.40),
    8: (0.60, 0.40, 0.90),
}
#: Microstructure colours by BossDB label (background not painted): the one class map of
#: :mod:`mtneuro.report.colors`, so the preview and the task-2 overlays agree.
LABEL_COLOURS = {k: CLASS_COLOURS[PIXEL_CLASSES[k]] for k in (VESSEL, CELL, AXON)}
BOX_COLOURS = {
    "cortex": "#4059e6",
    "striatum": "#e64040",
    "thalamus": "#40cce6",
    "zona_incerta": "#d959d9",
}
STRIP_ROWS = 512  # rows of the whole slice read at once, bounds memory


def default_z(source: VolumeSource) -> int:
    """Middle of the task depth if the source reaches it, else its middle slice."""
    middle = (SUBVOLUME_Z.start + SUBVOLUME_Z.stop) // 2
    return middle if middle < source.shape[0] else source.shape[0] // 2


def _overview(source: VolumeSource, z: int, step: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Downsampled image and roi ids of slice ``z`` (every ``step``-th pixel), read in strips."""
    _, height, width = source.shape
    rows_img, rows_roi = [], []
    has_roi = "roi_labels" in source.channels
    for y0 in range(0, height, STRIP_ROWS):
        y1 = min(height, y0 + STRIP_ROWS)
        keep = slice((-y0) % step, None, step)  # rows on the global step grid
        rows_img.append(
            source.read_channel("image", (z, z + 1), (y0, y1), (0, width))[0, keep, ::step]
        )
        if has_roi:
            rows_roi.append(
                source.read_channel("roi_labels", (z, z + 1), (y0, y1), (0, width))[0, keep, ::step]
            )
    return np.concatenate(rows_img), (np.concatenate(rows_roi) if has_roi else None)


def _paint(
    gray: np.ndarray, ids: np.ndarray, colours: dict[int, tuple], alpha: float
) -> np.ndarray:
    """RGB image: gray with ``colours[id]`` blended in where ids has a colour."""
    rgb = np.repeat((gray.astype(np.float32) / 255.0)[..., None], 3, axis=2)
    lut = np.zeros((256, 3), dtype=np.float32)
    painted = np.zeros(256, dtype=bool)
    for key, colour in colours.items():
        lut[key], painted[key] = colour, True
    mask = painted[ids]
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * lut[ids[mask]]
    return rgb


def _draw_overview(ax, source: VolumeSource, z: int, step: int) -> None:
    """Whole slice with region colours (if any), legend and the published boxes."""
    _, height, width = source.shape
    gray, roi = _overview(source, z, step)
    extent = (0, width, height, 0)
    if roi is not None:
        ax.imshow(_paint(gray, roi, ROI_COLOURS, 0.35), extent=extent, interpolation="nearest")
        present = [k for k in sorted(ROI_COLOURS) if (roi == k).any()]
        handles = [Patch(color=ROI_COLOURS[k], label=f"{k} {ROI_NAMES[k]}") for k in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                  title="roi_labels")  # fmt: skip
    else:
        ax.imshow(gray, cmap="gray", vmin=0, vmax=255, extent=extent, interpolation="nearest")
    for region, box in SUBVOLUME_A.items():
        (x0, x1), (y0, y1) = box.x, box.y
        if x1 <= width and y1 <= height:
            colour = BOX_COLOURS[region]
            ax.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, lw=1.8)
            )
            # white on a black outline: in the box colour it vanished into its region's fill
            ax.text(x0, y0 - 12, REGION_SHORT[region], color="white", fontsize=9, weight="bold",
                    path_effects=[withStroke(linewidth=2.5, foreground="black")])
    real_z = source.describe().get("real_z")
    where = f"slice z={z}" + (f" (volume slice {real_z})" if real_z is not None else "")
    note = "" if roi is not None else "; no region labels in this source"
    label = data_source_label({"source": source.describe()})
    ax.set_title(f"{label}: {where}, {height} x {width} px at {VOXEL_SIZE_UM} µm{note}",
                 fontsize=10)  # fmt: skip
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")


def _draw_tiles(fig, grid, source: VolumeSource, z: int, has_labels: bool) -> None:
    """Each region's box A: the image, and below it the labels overlaid (if any)."""
    _, height, width = source.shape
    channels = ("image", "pixel_labels") if has_labels else ("image",)
    for col, region in enumerate(REGIONS):
        box = SUBVOLUME_A[region]
        if box.x[1] > width or box.y[1] > height:
            continue
        block = source.read((z, z + 1), box.y, box.x, channels=channels)
        tile = block.image[0]
        ax = fig.add_subplot(grid[1, col])
        ax.imshow(tile, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        title = f"{REGION_SHORT[region]} box A  x {box.x[0]}:{box.x[1]}  y {box.y[0]}:{box.y[1]}"
        ax.set_title(title, fontsize=9)
        scale_bar(ax, tile.shape[0])
        ax.axis("off")
        if not has_labels:
            continue
        labels = block.pixel_labels[0]
        ax = fig.add_subplot(grid[2, col])
        ax.imshow(_paint(tile, labels, LABEL_COLOURS, 0.55), interpolation="nearest")
        fractions = np.bincount(labels.ravel(), minlength=4) / labels.size
        ax.set_title(" ".join(f"{PIXEL_CLASSES[k]} {fractions[k]:.1%}" for k in (1, 2, 3)),
                     fontsize=8)  # fmt: skip
        scale_bar(ax, tile.shape[0])
        ax.axis("off")


@styled
def render_preview(
    source: VolumeSource, out: str | Path, z: int | None = None, step: int = 4
) -> Path:
    """Write the preview PNG of ``source`` at slice ``z`` to ``out``.

    Args:
        source: any volume source; ``image`` is required, labels are drawn when present.
        z: slice index; default :func:`default_z`.
        step: downsampling of the whole-slice overview.

    Raises:
        ConfigError: ``z`` is outside the source.
    """
    depth = source.shape[0]
    z = default_z(source) if z is None else int(z)
    if not 0 <= z < depth:
        raise ConfigError(source.outside_message("z", str(z), depth))
    has_labels = "pixel_labels" in source.channels
    rows = 3 if has_labels else 2
    fig = new_figure(figsize=(16, 10.5 if has_labels else 7.5))
    grid = fig.add_gridspec(rows, 4, height_ratios=[1.25] + [1.0] * (rows - 1), hspace=0.3,
                            wspace=0.05)  # fmt: skip
    _draw_overview(fig.add_subplot(grid[0, :]), source, z, step)
    _draw_tiles(fig, grid, source, z, has_labels)
    if has_labels:
        handles = [
            Patch(color=LABEL_COLOURS[k], label=f"{k} {PIXEL_CLASSES[k]}") for k in (1, 2, 3)
        ]
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.04), ncol=3,
                   fontsize=9, title="pixel_labels (BossDB convention)")  # fmt: skip
    else:
        fig.text(0.5, 0.04, f"no microstructure labels in source '{source.name}': image tiles only",
                 ha="center", fontsize=10)  # fmt: skip
    return save_figure(fig, out, dpi=100)
