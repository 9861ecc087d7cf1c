"""Matplotlib basics shared by every plot: figures, text sizes, saving, confusion matrices.

Every figure is saved at :data:`SAVE_DPI` and shown in ``report.html`` at
:data:`THUMB_PX_PER_INCH` CSS pixels per inch (a click opens it at full size), so a
``f``-point font reads as ``f * THUMB_PX_PER_INCH / 72`` pixels on the page. The
default text sizes of :data:`STYLE` keep every label at least :data:`MIN_TEXT_PX` there;
:func:`save_figure` records the smallest font of each PNG (PNG text chunk
``mtneuro:min-font-pt``) so the report and its browser test can check it.

Nothing here changes matplotlib's global state (a notebook's backend and styling stay
the user's): figures are :class:`~matplotlib.figure.Figure` objects drawn on an Agg
canvas (:func:`new_figure`), not pyplot's, and every function that draws one runs within
:func:`report_style` (:func:`styled`).
"""

from __future__ import annotations

import functools
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from mtneuro.atomic import write_atomic
from mtneuro.data.spec import VOXEL_SIZE_UM

SAVE_DPI = 150
#: Length of the scale bar drawn on images of the volume.
SCALE_BAR_UM = 50.0
THUMB_PX_PER_INCH = 100
MIN_TEXT_PX = 9.0
MIN_FONT_PT = MIN_TEXT_PX * 72 / THUMB_PX_PER_INCH  # 6.5 pt
FONT_KEY = "mtneuro:min-font-pt"
#: Text sizes of every figure, over matplotlib's defaults (:func:`report_style`).
STYLE = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
    "figure.titlesize": 11,
}

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def report_style() -> Iterator[None]:
    """matplotlib's settings as the command line draws with (those of the rc file, under
    :data:`STYLE`) within the block, the caller's restored after it: a notebook's styling
    (or the inline backend's figure settings) must not restyle the report's figures, nor
    the report's sizes the notebook's."""
    with matplotlib.rc_context():
        matplotlib.rc_file_defaults()  # the backend is not among the values it resets
        matplotlib.rcParams.update(STYLE)
        yield


def styled(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    """``draw`` run within :func:`report_style` (settings are read while a figure is drawn
    and saved, not only when it is made)."""

    @functools.wraps(draw)
    def within_style(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with report_style():
            return draw(*args, **kwargs)

    return within_style


def new_figure(**kwargs: Any) -> Figure:
    """A :class:`~matplotlib.figure.Figure` (``kwargs``: its ``figsize``, ``layout``, ...) on
    an Agg canvas, known to no pyplot figure manager (nothing to close, no backend chosen).
    Make it within :func:`report_style`."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def new_subplots(*args: Any, figsize: tuple[float, float] | None = None,
                 layout: str | None = None, **kwargs: Any) -> tuple[Figure, Any]:
    """``(figure, axes)`` as ``pyplot.subplots`` gives them, on :func:`new_figure`."""
    fig = new_figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(*args, **kwargs)


def smallest_font_pt(fig: Figure) -> float | None:
    """Size in points of the smallest visible, non-empty text of ``fig`` (None: no text)."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else None


@styled
def save_figure(fig: Figure, path: str | Path, dpi: int = SAVE_DPI) -> Path:
    """Save ``fig`` as PNG (tight box, smallest font recorded), close it if pyplot made it,
    return the path.

    Text is drawn as written: a ``$`` in a method tag or file name is not math markup.
    """
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    smallest = smallest_font_pt(fig)
    metadata = {FONT_KEY: f"{smallest:.2f}"} if smallest is not None else {}
    try:
        write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=dpi,
                                                      bbox_inches="tight", metadata=metadata))
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and fig.canvas.manager is not None:  # a figure pyplot keeps
            pyplot.close(fig)
    return path


def wrap_title(text: str, width_in: float, font_pt: float = 10.0) -> str:
    """``text`` wrapped (existing line breaks kept) to fit ``width_in`` inches at ``font_pt``."""
    chars = max(20, int(width_in * 72 / (0.55 * font_pt)))  # average glyph ~0.55 em wide
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def seeds_note(n: int, std: float | None) -> str:
    """How a value over ``n`` seeds is shown: why a bar has, or lacks, an error bar."""
    if n <= 1:
        return "n=1 seed: no error bar"
    if not std:
        return f"n={n} seeds, identical results: no error bar"
    return f"n={n} seeds: bars ± std over seeds"


@styled
def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    normalize: bool = True,
) -> Path:
    """Confusion matrix (rows = truth, columns = prediction), counts annotated.

    A row without true samples (a class absent from the test set) is greyed and says
    "no test samples", so it is not read as a class the model never predicts right.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    empty = totals[:, 0] == 0
    shown = counts / np.maximum(totals, 1) if normalize else counts.copy()
    shown[empty] = np.nan
    size = max(3.8, 0.6 * len(class_names) + 1.6)
    fig, ax = new_subplots(figsize=(size, size))
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="Blues", vmin=0,
                      vmax=1 if normalize else None)
    # the shade is a share of the true row while the numbers are counts: say which
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label="share of the true row" if normalize else "count")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    # the colour scale's top (vmax): white numbers on the darker half of it
    top = 1.0 if normalize else (np.nanmax(shown) if (~empty).any() else 1.0)
    for i in range(counts.shape[0]):
        if empty[i]:
            ax.add_patch(Rectangle((-0.5, i - 0.5), counts.shape[1], 1, facecolor="0.92",
                                       edgecolor="0.6", hatch="//", lw=0))
            ax.text((counts.shape[1] - 1) / 2, i, "no test samples", ha="center", va="center",
                    fontsize=9, style="italic", bbox={"facecolor": "white", "edgecolor": "none"})
            continue
        for j in range(counts.shape[1]):
            color = "white" if shown[i, j] > 0.5 * (top or 1) else "black"
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", color=color, fontsize=9)
    if title:
        ax.set_title(wrap_title(title, size))
    return save_figure(fig, path)


def scale_bar(ax, pixels: int) -> None:
    """A :data:`SCALE_BAR_UM` bar at the lower left of a square image of the volume
    ``pixels`` wide (voxels of :data:`~mtneuro.data.spec.VOXEL_SIZE_UM`); none on an image
    too small to hold it (under 2.5 bar lengths), which it would overrun."""
    length = SCALE_BAR_UM / VOXEL_SIZE_UM
    if length > 0.4 * pixels:
        return
    x0, y0 = pixels * 0.06, pixels * 0.92
    ax.plot([x0, x0 + length], [y0, y0], color="white", linewidth=3, solid_capstyle="butt")
    ax.text(x0 + length / 2, y0 - pixels * 0.03, f"{SCALE_BAR_UM:g} µm", color="white",
            ha="center", fontsize=8)
