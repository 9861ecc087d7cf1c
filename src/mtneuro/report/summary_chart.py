"""Summary chart of one leaderboard table: ours and published rows in separate, labelled panels.

One row of panels per *series* (our rows on one data source; published rows of one
source label; reference-code runs made here), one column per metric the table's
title names (task 2: F1 and IoU; task 3: all five features). Every panel title
names its series and data source, the figure title names the sources of both,
and the legend sits below the panels, so it never covers a bar. Our bars get an
error bar only where several seeds gave different numbers; a 95% interval over
test samples can be passed in per bar (``intervals``) where a task provides one. Our
panels draw a dotted line at chance (``chance``: always the most common training class)
where the task records it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from mtneuro.report.figures import new_figure, save_figure, styled, wrap_title
from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row, metric_title
from mtneuro.stats import plus_minus

#: Metrics each task's chart shows: every one its table title names.
CHART_METRICS: dict[str, Callable[[list[str]], list[str]]] = {
    "task1": lambda keys: [k for k in keys if k == "accuracy"],
    "task2": lambda keys: [k for k in ("f1_avg", "iou_avg") if k in keys],
    # in-sample R², the published table's definition; held-out R² is a series of its own
    "task3": lambda keys: [k for k in keys if k.startswith("r2_") and not k.startswith("r2_test_")],
    "neural": lambda keys: [k for k in ("accuracy", "delta_accuracy", "f1_weighted", "f1_macro")
                            if k in keys],
}
SERIES_STYLE = {
    OURS: {"facecolor": "#3b75af", "edgecolor": "#1d3d5c", "hatch": ""},
    "published": {"facecolor": "#dcdcdc", "edgecolor": "#444444", "hatch": "//"},
    "run-here": {"facecolor": "#fde3c4", "edgecolor": "#9a5b13", "hatch": "xx"},
}
SERIES_LEGEND = {
    OURS: "ours (this run)",
    "published": "published (not ours)",
    "run-here": "reference code, run here (not ours, not published)",
}
ERROR_LEGEND = {
    "interval": "error bar [low, high]: 95% interval over test samples",
    "std": "error bar: ± std over seeds (ours only where n>1 and seeds differ;\n"
    "others as their source gives it)",
}
#: How each kind of error bar is drawn: a 95% interval over test samples and a std over seeds
#: are different quantities, so one panel must not show them alike.
ERROR_STYLE = {"interval": {"color": "0.3", "linestyle": (0, (2, 1.2))},
               "std": {"color": "black", "linestyle": "-"}}
#: The chance line of our panels: the score of always predicting the most common training
#: class (report.chance.chance_marks), so a bar can be told from chance at a glance.
CHANCE_STYLE = {"color": "#b03a2e", "linestyle": (0, (1, 1.5)), "linewidth": 1.4}
CHANCE_LEGEND = "chance (ours): always the most common training class"
#: (method, data source, metric) -> (low, high): a 95% interval drawn on that bar.
Intervals = Mapping[tuple[str, str, str], tuple[float, float]]
LABEL_IN, PANEL_IN, BAR_IN = 2.0, 2.2, 0.27
#: Characters per line of a row label: a longer one is wrapped so that it stays inside the
#: LABEL_IN margin (the saved figure's tight box would otherwise grow to hold it).
LABEL_CHARS = 26


def row_kind(row: Row) -> str:
    """``ours``, ``published`` or ``run-here`` (reference code run in this project)."""
    return OURS if row.kind == OURS else "run-here" if row.run_here else "published"


@dataclass
class Series:
    """Rows drawn in one row of panels; ``key`` maps a chart metric to the rows' value key."""

    kind: str
    title: str
    rows: list[Row]
    key: Callable[[str], str] = str


def chart_metrics(table: LeaderboardTable) -> list[str]:
    """The metrics the chart of ``table`` shows (the first one for tasks not listed)."""
    chosen = CHART_METRICS.get(table.task, lambda keys: keys[:1])(table.metrics)
    return chosen or table.metrics[:1]


def chart_series(table: LeaderboardTable) -> list[Series]:
    """Our rows per data source, then published rows per source label, then runs made here."""
    series: dict[tuple[str, str], Series] = {}
    for row in table.rows:
        kind = row_kind(row)
        if kind == OURS:
            title = f"ours on {row.data_source}"  # names the data: a phantom never passes for real
        elif kind == "published":
            title = f"published ({row.kind}) on {row.data_source}"
        else:
            title = f"{row.kind} on {row.data_source}: not published, not ours"
        series.setdefault((kind, title), Series(kind, title, [])).rows.append(row)
    out = list(series.values())
    if table.task == "task3":  # held-out R² of our rows beside the in-sample (published) one
        held_out = lambda key: key.replace("r2_", "r2_test_", 1)  # noqa: E731
        for s in [s for s in out if s.kind == OURS]:
            if any(held_out(k) in r.values for r in s.rows for k in chart_metrics(table)):
                out.insert(
                    out.index(s) + 1,
                    Series(
                        OURS,
                        f"{s.title}: held-out test R² (not the published definition)",
                        s.rows,
                        held_out,
                    ),
                )
    return out


def _label(row: Row) -> str:
    """The row's method with its n where known (ours, reference code run here), as
    leaderboard.md's n column; a published row's n is not known."""
    failed = f", {row.failed} failed" if row.failed else ""
    text = row.method if row.seeds_n is None else f"{row.method} (n={row.seeds_n}{failed})"
    return textwrap.fill(text, LABEL_CHARS, break_on_hyphens=False)


def _row_pitch(rows: list[Row]) -> float:
    """Inches per bar: room for the longest wrapped label (9-pt lines) beside its bar."""
    lines = max((_label(r).count("\n") + 1 for r in rows), default=1)
    return max(BAR_IN, 0.17 * lines + 0.03)


@dataclass
class Bar:
    """One bar: its row's position in the series, value, error bar (barh ``xerr``) and text."""

    y: int
    row: Row
    value: float | None  # None: the row has no value for this metric
    xerr: float | list[list[float]] | None
    text: str


def _bar(y: int, row: Row, key: str, intervals: Intervals | None, digits: int) -> Bar:
    """A bar with an interval if one is given, else a std only where it means something."""
    stat = row.values.get(key)
    if stat is None:
        return Bar(y, row, None, None, "no value" + (" (failed)" if row.failed else ""))
    value = f"{stat.mean:.{digits}f}"
    interval = (intervals or {}).get((row.method, row.data_source, key))
    if interval is not None:
        low, high = interval
        # A percentile interval need not contain the value: no negative arm (barh refuses it).
        arms = [[max(stat.mean - low, 0.0)], [max(high - stat.mean, 0.0)]]
        return Bar(y, row, stat.mean, arms, f"{value} [{low:.{digits}f}, {high:.{digits}f}]")
    if stat.std is not None and stat.std > 0 and (row.kind != OURS or row.n > 1):
        return Bar(y, row, stat.mean, stat.std, plus_minus(stat.mean, stat.std, digits))
    return Bar(y, row, stat.mean, None, value)


def _limits(bars: list[Bar], panel_in: float, marks: tuple[float, ...] = ()
            ) -> tuple[float, float, float]:
    """(left, right, largest bar end or mark) of a metric's panels: right leaves room for
    the text; ``marks``: values a line is drawn at (chance), kept inside."""
    ends = [0.0, *marks] + [
        b.value + s * float(np.max(b.xerr if b.xerr is not None else 0))
        for b in bars
        if b.value is not None
        for s in (-1, 1)
    ]
    low, high = min(ends), max(max(ends), 1e-6)
    if low < 0:  # a margin, so an error bar's cap past 0 is not cut by the panel's edge
        low -= 0.04 * (high - low)
    text_in = max(len(b.text) for b in bars) * 0.55 * 9 / 72 + 0.12  # 9-pt glyphs ~0.55 em
    room = min(0.7, text_in / panel_in)
    return low, high + (high - low) * room / (1 - room), high


def _draw_panel(ax, kind: str, bars: list[Bar], xlim: tuple[float, float, float]) -> set[str]:
    """Bars of one series for one metric; returns the kinds of error bar drawn."""
    drawn = set()
    for bar in bars:
        if bar.value is None:
            ax.text(
                xlim[0],
                bar.y,
                " " + bar.text,
                va="center",
                fontsize=9,
                color="0.35",
                style="italic",
            )
            continue
        bars_drawn = ax.barh(bar.y, bar.value, height=0.7, xerr=bar.xerr, capsize=3,
                             **SERIES_STYLE[kind])
        if bar.xerr is not None:
            error = "interval" if isinstance(bar.xerr, list) else "std"
            drawn.add(error)
            for part in (*bars_drawn.errorbar.lines[1], *bars_drawn.errorbar.lines[2]):
                part.set_color(ERROR_STYLE[error]["color"])
            for line in bars_drawn.errorbar.lines[2]:
                line.set_linestyle(ERROR_STYLE[error]["linestyle"])
        end = bar.value + float(np.max(bar.xerr if bar.xerr is not None else 0))
        ax.text(max(end, 0) + 0.02 * (xlim[1] - xlim[0]), bar.y, bar.text, va="center", fontsize=9)
    ax.set_xlim(xlim[0], xlim[1])
    ax.set_ylim(len(bars) - 0.5, -0.5)
    return drawn


#: Inches a tick label of the value axis takes, with the gap to the next ("0.25" at 9 pt).
TICK_IN = 0.45


def value_ticks(limits: tuple[float, float, float], bins: int = 4) -> list[float]:
    """Ticks of a panel from its values' range ``(low, right edge, largest value end)``:
    chosen from the values (and ``bins``) alone, so panels of one range tick alike whatever
    room their text takes, and none far beyond the largest value (the rest is room for
    text)."""
    low, right, largest = limits
    ticks = MaxNLocator(nbins=max(bins, 2), steps=[1, 2, 2.5, 5, 10]).tick_values(low, largest)
    ticks = [float(t) for t in ticks if low - 1e-12 <= t <= right]
    # one interval: the first and last of two (0 and 1 for values up to 0.85)
    return [ticks[0], ticks[-1]] if bins == 1 and len(ticks) > 2 else ticks


def tick_bins(limits: tuple[float, float, float], panel_in: float) -> int:
    """How many tick intervals (1-4) the values' part of a ``panel_in``-inch panel holds
    without its labels overlapping (:data:`TICK_IN` each): a panel whose text takes most of
    its width has room for few."""
    low, right, _ = limits
    for bins in (4, 3, 2):
        ticks = value_ticks(limits, bins)
        if len(ticks) < 2 or (ticks[1] - ticks[0]) / (right - low) * panel_in >= TICK_IN:
            return bins
    return 1


def _layout(series: list[Series], n_metrics: int, width: float, title_lines: int):
    """Axes boxes in inches, fixed so every series' panels line up under one another.

    Returns:
        (figure height, [(series title top, [(left, bottom, w, h) per metric]) per series]),
        in inches from the bottom-left corner.
    """
    line_h, gap = 0.2, 0.5
    panel = (width - LABEL_IN - 0.1) / n_metrics
    blocks, y = [], title_lines * 0.22 + 0.25  # inches from the top
    for index, s in enumerate(series):
        title_top = y
        y += line_h * len(wrap_title(s.title, width).splitlines()) + 0.1
        y += 0.25 if index == 0 else 0.0  # metric names above the first row of panels
        height = _row_pitch(s.rows) * len(s.rows) + 0.1
        blocks.append(
            (
                title_top,
                [(LABEL_IN + panel * j, y + height, panel - 0.2, height) for j in range(n_metrics)],
            )
        )
        y += height + gap
    total = y + 0.2
    return total, [
        (total - t, [(x, total - b, w, h) for x, b, w, h in boxes]) for t, boxes in blocks
    ]


@styled
def plot_summary(
    table: LeaderboardTable, path: str | Path, *, intervals: Intervals | None = None,
    chance: Mapping[tuple[str, str], float] | None = None,
) -> Path | None:
    """Write the summary chart of ``table`` (see the module doc); None if it has no values.

    Args:
        intervals: optional 95% intervals per (method, data source, metric), drawn in place
            of the std over seeds (e.g. a bootstrap over test samples).
        chance: optional chance scores per (data source, metric), drawn as a line in our
            panels of that data source.
    """
    metrics = chart_metrics(table)
    series = [s for s in chart_series(table) if s.rows]
    if not metrics or not any(
        s.key(m) in r.values for s in series for r in s.rows for m in metrics
    ):
        return None
    width = max(6.4, LABEL_IN + PANEL_IN * len(metrics) + 0.2)
    ours = sorted({r.data_source for s in series if s.kind == OURS for r in s.rows})
    theirs = sorted({r.data_source for s in series if s.kind != OURS for r in s.rows})
    sources = f"ours on {', '.join(ours) or 'none'}" + (
        f"; not ours on {', '.join(theirs)}" if theirs else ""
    )
    title = wrap_title(f"{table.title}\n{sources}", width, 11)
    height, blocks = _layout(series, len(metrics), width, len(title.splitlines()))
    fig = new_figure(figsize=(width, height))
    fig.suptitle(title, y=1 - 0.05 / height, va="top")
    digits = 3  # as the tables: two decimals rounded a std of 0.015 down to 0.01
    bars = {
        (i, m): [_bar(y, r, s.key(m), intervals, digits) for y, r in enumerate(s.rows)]
        for i, s in enumerate(series)
        for m in metrics
    }
    panel_in = blocks[0][1][0][2]
    marks = {(i, m): (chance or {}).get((s.rows[0].data_source, s.key(m)))
             for i, s in enumerate(series) if s.kind == OURS for m in metrics}
    limits = {
        m: _limits([b for i in range(len(series)) for b in bars[(i, m)]], panel_in,
                   tuple(v for (_, n), v in marks.items() if n == m and v is not None))
        for m in metrics
    }
    # one tick count for every panel (the narrowest values' part decides): panels of one
    # value range tick alike
    bins = min(tick_bins(limits[m], panel_in) for m in metrics)
    drawn: set[str] = set()
    for index, (s, (title_y, boxes)) in enumerate(zip(series, blocks)):
        fig.text(
            0.1 / width,
            title_y / height,
            wrap_title(s.title, width),
            ha="left",
            va="top",
            fontsize=10,
            weight="bold",
        )
        for j, (metric, (left, bottom, w, h)) in enumerate(zip(metrics, boxes)):
            ax = fig.add_axes((left / width, bottom / height, w / width, h / height))
            drawn |= _draw_panel(ax, s.kind, bars[(index, metric)], limits[metric])
            if marks.get((index, metric)) is not None:
                ax.axvline(marks[(index, metric)], **CHANCE_STYLE)
                drawn.add("chance")
            ax.set_yticks(range(len(s.rows)), [_label(r) for r in s.rows] if j == 0 else [])
            ax.set_xticks(value_ticks(limits[metric], bins))
            if index == 0:
                ax.set_title(metric_title(metric), fontsize=10)
            if index == len(series) - 1:
                ax.set_xlabel(metric_title(s.key(metric)))
    handles = [
        Patch(**SERIES_STYLE[k], label=SERIES_LEGEND[k])
        for k in SERIES_STYLE
        if any(s.kind == k for s in series)
    ]
    handles += [
        Line2D([0, 1], [0, 0], marker="|", markersize=8, label=ERROR_LEGEND[k], **ERROR_STYLE[k])
        for k in sorted(drawn - {"chance"})
    ]
    if "chance" in drawn:
        handles.append(Line2D([0, 1], [0, 0], label=CHANCE_LEGEND, **CHANCE_STYLE))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.1 / width, 0.0), frameon=False)
    return save_figure(fig, path)
