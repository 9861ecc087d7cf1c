"""A volume file as pre-training will see it (``--source volume``), before pre-training.

:func:`read_volume_view` reads the file with the ``--source-param`` values pre-training
would get, through :mod:`mtneuro.data.volume_file`'s own checks, layout and 8-bit mapping
(a file pre-training would refuse is refused here, in the same words). A 16-bit or float
volume without the ``window`` it needs is still read: shown with the window the refusal
would suggest (the values' range), so a window can be chosen from the preview.
:func:`render_volume_preview` draws one slice with its tile grid, the histogram of its raw
values with the window marked and the share clipped on each side, and a few of its tiles.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogFormatter

from mtneuro.data.volume_file import (
    TileLayout,
    check_tiling,
    parse_window,
    range_window,
    read_volume,
    tile_layout,
    to_eight_bit,
    volume_tiles,
)
from mtneuro.errors import ConfigError
from mtneuro.report.figures import new_figure, save_figure, styled, wrap_title

#: Tiles drawn below the slice (spread over the slice's grid).
SHOWN_TILES = 6
#: Longest side drawn of the slice; a larger one is shown every n-th pixel.
MAX_SHOWN_PX = 1600
HISTOGRAM_BINS = 128
WINDOW_COLOUR = "#d62728"
SHOWN_TILE_COLOUR = "#17becf"


@dataclass(frozen=True)
class VolumeView:
    """What pre-training reads of a volume file, and slice ``z`` of it."""

    path: Path
    shape: tuple[int, int, int]
    dtype: np.dtype
    z_step: int
    layout: TileLayout
    #: the ``window`` given (None: none)
    window: tuple[float, float] | None
    #: ``LOW:HIGH`` pre-training's refusal would suggest, when the volume needs a window and
    #: none was given (the values are then shown with it); None otherwise
    suggested: str | None
    #: the smallest and largest value pre-training reads
    lowest: Any
    highest: Any
    z: int
    #: slice ``z``'s tiled area, raw and as 8 bits (``window``, or ``suggested``)
    raw: np.ndarray
    eight_bit: np.ndarray
    #: shares of ``raw`` below LOW and above HIGH of ``window``: clipped to 0 and 255
    clipped_below: float
    clipped_above: float

    @property
    def tiles(self) -> np.ndarray:
        """Slice ``z``'s tiles, ``(rows * cols, 1, tile, tile)`` uint8."""
        return self.layout.cut(self.eight_bit[None])


def _pretraining_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over the defaults pre-training's reader has, so neither drifts from it."""
    defaults = {name: p.default for name, p in inspect.signature(volume_tiles).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return {**defaults, **params}


def _slice_to_show(z: int | None, layout: TileLayout, depth: int) -> int:
    read = layout.slices
    if z is None:
        return read[len(read) // 2]
    if not 0 <= z < depth:
        raise ConfigError(f"z {z} is outside the volume (valid z: 0:{depth})")
    if z not in read:
        step = read.step
        below = z - z % step
        after = f" or {below + step}" if below + step < depth else ""
        raise ConfigError(f"z {z}: pre-training reads slices 0, {step}, {2 * step}, ... "
                          f"(z_step={step}), not this one; give --z {below}{after}, or "
                          "--source-param z_step=1")
    return z


def read_volume_view(params: Mapping[str, Any], z: int | None = None) -> VolumeView:
    """The volume file of ``params`` (``--source-param`` values: ``path``, ``tile``,
    ``z_step``, ``window``) as pre-training reads it, with slice ``z`` (default the middle
    slice read).

    Raises:
        ConfigError: a bad ``tile``, ``z_step`` or ``window``; ``z`` outside the volume or
            not among the slices read.
        DataError: what pre-training would refuse (:func:`~mtneuro.data.volume_file.
            volume_tiles`), except a missing window.
    """
    settings = _pretraining_settings(params)
    tile, z_step = settings["tile"], settings["z_step"]
    check_tiling(tile, z_step)
    path = Path(str(settings["path"]))  # JSON reads path=2024 as a number
    window = parse_window(settings["window"])
    array = read_volume(path)
    layout = tile_layout(path, array.shape, tile, z_step)
    z = _slice_to_show(z, layout, array.shape[0])
    read = layout.read(array)
    lowest, highest = read.min(), read.max()
    needs_window = window is None and read.dtype not in (np.uint8, np.bool_)
    mapped_with = (float(lowest), float(highest)) if needs_window else window
    # the very checks pre-training makes (NaN, inf, one value, a window beside the values)
    eight_bit = to_eight_bit(read, mapped_with, path, z_step=z_step)
    index = layout.slices.index(z)
    raw = read[index]
    if window is None:
        below = above = 0.0
    else:
        below, above = float(np.mean(raw < window[0])), float(np.mean(raw > window[1]))
    return VolumeView(path, tuple(array.shape), read.dtype, z_step, layout, window,
                      range_window(lowest, highest) if needs_window else None, lowest, highest,
                      z, raw, eight_bit[index], below, above)


def window_text(view: VolumeView) -> str:
    """How the volume's values become 8 bits, in a few words."""
    if view.window is not None:
        return f"window {view.window[0]:g}:{view.window[1]:g}"
    if view.suggested is not None:
        return "no window"
    return "a mask, as 0 / 255" if view.dtype == np.bool_ else "8-bit, as is"


def clipped_text(view: VolumeView) -> str:
    """The shares of slice ``z`` that the window clips, or why none are."""
    if view.window is None:
        return ("nothing clipped (no window)" if view.suggested is not None
                else "nothing clipped (read as is)")
    low, high = view.window
    return (f"{view.clipped_below:.2%} clipped below {low:g}, "
            f"{view.clipped_above:.2%} above {high:g}")


def preview_line(view: VolumeView, png: Path, replaced: bool) -> str:
    """The line the command prints: where the PNG went, the tile count, the clipped shares."""
    layout = view.layout
    what = f"{layout.count} tiles for pre-training (tile {layout.tile}, z_step {view.z_step})"
    if view.suggested is not None:
        needs = (f"; pre-training needs --source-param window=LOW:HIGH for {view.dtype} values "
                 f"(suggested window={view.suggested}, the values' range)")
        return f"{'replaced' if replaced else 'wrote'} {png}: {what}{needs}"
    return (f"{'replaced' if replaced else 'wrote'} {png}: {what}; slice z={view.z}: "
            f"{clipped_text(view)}")


def _shown_tiles(layout: TileLayout) -> list[int]:
    """Indices of up to :data:`SHOWN_TILES` tiles of a slice, spread over its grid."""
    per_slice = layout.rows * layout.cols
    spread = np.linspace(0, per_slice - 1, min(SHOWN_TILES, per_slice))
    return sorted(set(np.rint(spread).astype(int).tolist()))


def _draw_slice(ax, view: VolumeView, shown: list[int]) -> None:
    """Slice ``z`` in 8 bits with the tile grid; the edge strips pre-training leaves out are
    hatched (not read, so not drawn), the tiles shown below are numbered."""
    _, height, width = view.shape
    layout, tile = view.layout, view.layout.tile
    grid_h, grid_w = layout.rows * tile, layout.cols * tile
    step = max(1, -(-max(height, width) // MAX_SHOWN_PX))
    shown_grid = view.eight_bit[::step, ::step]
    image = np.full((-(-height // step), -(-width // step)), np.nan, dtype=np.float32)
    image[: shown_grid.shape[0], : shown_grid.shape[1]] = shown_grid
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="0.85")
    ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=0, vmax=255,
              extent=(0, width, height, 0), interpolation="nearest")
    strips = [(grid_w, 0, width - grid_w, height), (0, grid_h, grid_w, height - grid_h)]
    for x, y, w, h in strips:
        if w > 0 and h > 0:
            ax.add_patch(Rectangle((x, y), w, h, facecolor=(0.84, 0.15, 0.16, 0.25),
                                   edgecolor=WINDOW_COLOUR, hatch="//", lw=0.8))
    lines = {"color": "#ffd54f", "lw": 0.6, "alpha": 0.8}
    ax.hlines([r * tile for r in range(layout.rows + 1)], 0, grid_w, **lines)
    ax.vlines([c * tile for c in range(layout.cols + 1)], 0, grid_h, **lines)
    for number, index in enumerate(shown, 1):
        row, col = divmod(index, layout.cols)
        ax.add_patch(Rectangle((col * tile, row * tile), tile, tile, fill=False,
                               edgecolor=SHOWN_TILE_COLOUR, lw=1.8))
        ax.text(col * tile, row * tile, str(number), color=SHOWN_TILE_COLOUR, fontsize=9,
                weight="bold", va="top", bbox={"facecolor": "black", "alpha": 0.6, "pad": 1,
                                               "edgecolor": "none"})
    strip_note = (f"; hatched: edge strips left out ({height - grid_h} px rows, "
                  f"{width - grid_w} px columns)" if (grid_h, grid_w) != (height, width)
                  else "")
    ax.set_title(f"slice z={view.z} as pre-training sees it: {layout.rows} x {layout.cols} "
                 f"tiles of {tile} px{strip_note}", fontsize=9)
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")


def _draw_histogram(ax, view: VolumeView) -> None:
    """Raw values of slice ``z``'s tiled area, the window (given or suggested) marked."""
    values = view.raw.astype(np.float64).ravel()
    bounds = view.window or (parse_window(view.suggested) if view.suggested else None)
    ends = [values.min(), values.max(), *(bounds or ())]
    low_end, high_end = min(ends), max(ends)
    if high_end == low_end:  # one value in this slice: a bin around it
        low_end, high_end = low_end - 0.5, high_end + 0.5
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(low_end, high_end))
    ax.stairs(counts, edges, fill=True, color="0.45")
    ax.set_yscale("log")  # a background peak would flatten the tissue's values
    # plain numbers: save_figure draws text as written, so no math-text exponents; minor
    # ticks are labelled where the counts span less than a decade or two
    ax.yaxis.set_major_formatter(FuncFormatter(lambda count, _: f"{count:,.0f}"))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    if bounds is not None:
        which = "window" if view.window is not None else "suggested window"
        for end, name in zip(bounds, ("LOW", "HIGH")):
            ax.axvline(end, color=WINDOW_COLOUR, ls="--", lw=1.2)
            ax.text(end, 1.0, f" {name} {end:g}", color=WINDOW_COLOUR, fontsize=8,
                    transform=ax.get_xaxis_transform(), va="bottom", ha="center")
        ax.axvspan(low_end, bounds[0], color=WINDOW_COLOUR, alpha=0.08)
        ax.axvspan(bounds[1], high_end, color=WINDOW_COLOUR, alpha=0.08)
        note = f"{which} {bounds[0]:g}:{bounds[1]:g}"
    else:
        note = window_text(view)
    ax.text(0.02, 0.97, f"{note}\n{clipped_text(view).replace(', ', chr(10))}",
            transform=ax.transAxes, va="top", fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})
    ax.set_title(f"raw {view.dtype} values of slice z={view.z} (tiled area)", fontsize=9,
                 pad=14)
    ax.set_xlabel("raw value")
    ax.set_ylabel("voxels (log)")


def _draw_tiles(fig, grid, view: VolumeView, shown: list[int]) -> None:
    tiles, cols = view.tiles, view.layout.cols
    for number, index in enumerate(shown, 1):
        ax = fig.add_subplot(grid[1, number - 1])
        ax.imshow(tiles[index, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        row, col = divmod(index, cols)
        ax.set_title(f"{number}: tile row {row}, col {col}", fontsize=8)
        ax.set_xticks([])  # the frame stays: a white tile would vanish into the page
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(SHOWN_TILE_COLOUR)


@styled
def render_volume_preview(view: VolumeView, out: str | Path) -> Path:
    """Write the preview PNG of ``view`` (see :func:`read_volume_view`) to ``out``."""
    layout = view.layout
    shown = _shown_tiles(layout)
    fig = new_figure(figsize=(14, 8.5))
    grid = fig.add_gridspec(2, SHOWN_TILES, height_ratios=[2.3, 1], hspace=0.35, wspace=0.25)
    _draw_slice(fig.add_subplot(grid[0, :4]), view, shown)
    _draw_histogram(fig.add_subplot(grid[0, 4:]), view)
    _draw_tiles(fig, grid, view, shown)
    depth, height, width = view.shape
    title = (f"volume {view.path.name}: {depth} x {height} x {width} (z, y, x) {view.dtype}, "
             f"{window_text(view)}; tile {layout.tile}, z_step {view.z_step}: "
             f"{layout.count} tiles for pre-training")
    if view.suggested is not None:
        title += (f"\nPre-training needs --source-param window=LOW:HIGH for {view.dtype} values; "
                  f"shown with the suggested window={view.suggested} (the values' range)")
    fig.suptitle(wrap_title(title, 14, 11), fontsize=11)
    return save_figure(fig, out, dpi=100)


def volume_info_lines(view: VolumeView) -> list[str]:
    """``mtneuro data info`` of a volume file: what it holds and what pre-training gets."""
    depth, height, width = view.shape
    layout = view.layout
    tile = layout.tile
    return [
        "source:     volume (a file of your own)",
        f"file:       {view.path}",
        f"shape:      {depth} x {height} x {width} voxels (z, y, x)",
        f"dtype:      {view.dtype}",
        f"values:     {view.lowest} to {view.highest} (the voxels pre-training reads)",
        f"to 8 bits:  {window_text(view)}" + (
            f" given: pre-training needs --source-param window=LOW:HIGH (suggested "
            f"window={view.suggested}, the values' range)" if view.suggested else ""),
        (f"tiles:      {layout.count} of {tile} px (z_step {view.z_step}: "
         f"{len(layout.slices)} slices x {layout.rows} x {layout.cols}; edge strips of "
         f"{height - layout.rows * tile} px rows, {width - layout.cols * tile} px columns "
         "left out)"),
    ]
