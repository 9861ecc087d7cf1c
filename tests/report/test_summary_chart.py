"""Summary charts: ours and published in separate labelled panels, every metric the title names,
the data sources in the title, error bars only where they mean something, legend off the bars."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import BarContainer
from PIL import Image
from report_fixture import write_cell

from mtneuro.report import summary_chart
from mtneuro.report.figures import SAVE_DPI
from mtneuro.report.leaderboard import build_tables, load_records
from mtneuro.tasks.semantic import FEATURE_NAMES

BOSSDB = {"source": "bossdb", "params": {}}


@pytest.fixture
def captured(monkeypatch) -> list:
    figs: list = []
    monkeypatch.setattr(
        summary_chart, "save_figure", lambda fig, path: figs.append(fig) or Path(path)
    )
    return figs


def _table(out: Path, task: str, setting: str):
    (table,) = [
        t for t in build_tables(load_records(out)) if (t.task, t.setting) == (task, setting)
    ]
    return table


def _bars(fig) -> dict[tuple[str, str], list]:
    """(series title, metric title) -> [(y tick label, value, has error bar, hatch)] per panel."""
    titles = [t.get_text() for t in fig.texts if t is not fig._suptitle]  # series, top to bottom
    rows = {}
    panels = [ax for ax in fig.axes]
    per_series = len(panels) // len(titles)
    for i, ax in enumerate(panels):
        series = " ".join(titles[i // per_series].split())
        metric = panels[i % per_series].get_title()
        labels = [t.get_text() for t in panels[(i // per_series) * per_series].get_yticklabels()]
        bars = []
        for container in ax.containers:
            if isinstance(container, BarContainer):
                patch = container.patches[0]
                bars.append(
                    (
                        labels[round(patch.get_y() + patch.get_height() / 2)],
                        patch.get_width(),
                        container.errorbar is not None,
                        patch.get_hatch() or "",
                    )
                )
        rows[(series, metric)] = bars
    return rows


def test_ours_and_published_are_separate_labelled_series_with_sources_in_the_title(
    tmp_path, captured
):
    for seed, accuracy in enumerate((0.8, 0.9, 0.7)):
        write_cell(tmp_path, "task1", "roi-c1", "byol", seed, {"accuracy": accuracy}, lambda d: [])
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    for seed in range(3):  # deterministic: the seed changed nothing
        write_cell(tmp_path, "task1", "roi-c1", "nmf", seed, {"accuracy": 0.6}, lambda d: [])
    write_cell(
        tmp_path, "task1", "roi-c1", "myow", 0, {"accuracy": 0.95}, lambda d: [], source=BOSSDB
    )
    summary_chart.plot_summary(_table(tmp_path, "task1", "roi-c1"), tmp_path / "c.png")
    (fig,) = captured
    title = " ".join(fig._suptitle.get_text().split())
    assert "phantom (synthetic volume)" in title and "real volume (BossDB prasad" in title
    bars = _bars(fig)
    phantom = bars[("ours on phantom (synthetic volume)", "Accuracy")]
    assert phantom == [
        ("byol (n=3)", pytest.approx(0.8), True, ""),  # seeds differ: std bar
        ("nmf (n=3)", pytest.approx(0.6), False, ""),  # identical seeds: none
        ("pca (n=1)", pytest.approx(0.5), False, ""),
    ]  # one seed: none
    assert bars[("ours on real volume (BossDB prasad2020)", "Accuracy")] == [
        ("myow (n=1)", pytest.approx(0.95), False, "")
    ]
    published = bars[
        ("published (paper, real volume) on real volume (BossDB prasad/prasad2020)", "Accuracy")
    ]
    assert len(published) == 7 and all(hatch == "//" for *_, hatch in published)
    assert ("Supervised", pytest.approx(0.88), True, "//") in published
    # the legend names each series and sits below every panel, never over a bar
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == [
        "ours (this run)",
        "published (not ours)",
    ]
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)


def test_task2_chart_shows_f1_and_iou_and_task3_all_five_features(tmp_path, captured):
    write_cell(
        tmp_path,
        "task2",
        "2d-4class",
        "unet",
        0,
        {"f1_avg": 0.7, "iou_avg": 0.55, "f1_vessel": 0.6},
        lambda d: [],
    )
    r2 = {f"r2_{f}": 0.5 for f in FEATURE_NAMES} | {f"r2_test_{f}": 0.4 for f in FEATURE_NAMES}
    write_cell(tmp_path, "task3", "roi-c1", "pca", 0, r2, lambda d: [])
    summary_chart.plot_summary(_table(tmp_path, "task2", "2d-4class"), tmp_path / "t2.png")
    summary_chart.plot_summary(_table(tmp_path, "task3", "roi-c1"), tmp_path / "t3.png")
    task2, task3 = (_bars(fig) for fig in captured)
    assert {metric for _, metric in task2} == {"F1 avg", "IoU avg"}
    assert {metric for _, metric in task3} == {
        f"R² {name} (in-sample)"
        for name in ("Vessels", "Axons", "Cell count", "Cell size", "Dist (k=1)")
    }
    # ours in-sample (the published definition) and held-out are separate, named series
    held_out = [s for s, _ in task3 if "held-out" in s]
    assert held_out and all(
        task3[(s, m)][0][1] == pytest.approx(0.4) for s, m in task3 if s in held_out
    )
    assert all(
        task3[("ours on phantom (synthetic volume)", m)][0][1] == pytest.approx(0.5)
        for _, m in task3
    )


def test_reference_runs_made_here_are_a_series_of_their_own(tmp_path, captured):
    write_cell(
        tmp_path,
        "neural",
        "chewie-1",
        "myow",
        0,
        {"accuracy": 0.7, "delta_accuracy": 0.8},
        lambda d: [],
        source={"source": "chewie-1", "label": "real recording chewie-1"},
    )
    summary_chart.plot_summary(_table(tmp_path, "neural", "chewie-1"), tmp_path / "n.png")
    bars = _bars(captured[0])
    run_here = [s for s, _ in bars if s.startswith("reference code, run here on")]
    assert run_here and all("not published, not ours" in s for s in run_here)
    assert all(hatch == "xx" for s, m in bars if s in run_here for *_, hatch in bars[(s, m)])
    legend = [t.get_text() for t in captured[0].legends[0].get_texts()]
    assert "reference code, run here (not ours, not published)" in legend
    # their n, as leaderboard.md gives it (the chart showed it for our rows only)
    labels = [" ".join(label.split()) for s in run_here for label, *_ in bars[(s, "Accuracy")]]
    assert "MYOW (reference code) (n=2)" in labels
    assert all(re.search(r" \(n=\d+\)$", label) for label in labels if "reference code" in label)


def test_intervals_passed_in_replace_the_seed_spread(tmp_path, captured):
    """The hook for 95% intervals over test samples: drawn as given, named in the legend."""
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    table = _table(tmp_path, "task1", "roi-c1")
    interval = {("pca", "phantom (synthetic volume)", "accuracy"): (0.42, 0.61)}
    summary_chart.plot_summary(table, tmp_path / "c.png", intervals=interval)
    ax = captured[0].axes[0]
    (bar,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    segments = bar.errorbar.lines[2][0].get_segments()
    assert segments[0][:, 0] == pytest.approx([0.42, 0.61])
    assert "0.500 [0.420, 0.610]" in [t.get_text() for t in ax.texts]
    legend = [t.get_text() for t in captured[0].legends[0].get_texts()]
    assert "error bar [low, high]: 95% interval over test samples" in legend


def test_held_out_bars_get_their_own_interval_printed_at_the_value_digits(tmp_path, captured):
    r2 = {f"r2_{f}": 0.9 for f in FEATURE_NAMES} | {f"r2_test_{f}": 0.55 for f in FEATURE_NAMES}
    write_cell(tmp_path, "task3", "roi-c1", "pca", 0, r2, lambda d: [])
    table = _table(tmp_path, "task3", "roi-c1")
    source = "phantom (synthetic volume)"
    intervals = {("pca", source, "r2_test_vessel_fraction"): (0.40, 0.70),
                 ("pca", source, "r2_vessel_fraction"): (0.885, 0.925)}
    summary_chart.plot_summary(table, tmp_path / "t3.png", intervals=intervals)
    texts = [t.get_text() for ax in captured[0].axes for t in ax.texts]
    assert "0.550 [0.400, 0.700]" in texts  # the held-out value with the held-out interval
    assert "0.900 [0.885, 0.925]" in texts  # three decimals in every panel, as the tables
    assert not any(t.startswith("0.550 [0.8") for t in texts)


def test_an_interval_that_misses_the_value_draws_no_negative_arm(tmp_path, captured):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.995}, lambda d: [])
    table = _table(tmp_path, "task1", "roi-c1")
    interval = {("pca", "phantom (synthetic volume)", "accuracy"): (0.98, 0.99)}
    summary_chart.plot_summary(table, tmp_path / "c.png", intervals=interval)
    assert "0.995 [0.980, 0.990]" in [t.get_text() for t in captured[0].axes[0].texts]


def test_a_dollar_in_a_name_is_drawn_as_written(tmp_path):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    table = _table(tmp_path, "task1", "roi-c1")
    table.rows[0].method = r"x$\foo$"  # as math markup: an unknown symbol
    path = summary_chart.plot_summary(table, tmp_path / "c.png")
    assert path.is_file() and path.stat().st_size > 0





def _write_chewie_cells(out: Path) -> None:
    for seed, accuracy in enumerate((0.7, 0.75)):  # seeds differ: the std legend entry too
        write_cell(out, "neural", "chewie-1", "myow", seed,
                   {"accuracy": accuracy, "delta_accuracy": 0.8}, lambda d: [],
                   source={"source": "chewie-1", "label": "real recording chewie-1"})


def test_a_long_row_label_wraps_inside_the_figure(tmp_path, captured):
    """chewie-1's reference-code rows have labels of up to 52 characters, longer than the
    label margin holds on one line: they wrap onto lines that start inside the figure."""
    _write_chewie_cells(tmp_path)
    summary_chart.plot_summary(_table(tmp_path, "neural", "chewie-1"), tmp_path / "n.png")
    fig = captured[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    longest = max(labels, key=lambda t: len(t.get_text()))
    assert "mined weight 0" in longest.get_text() and "\n" in longest.get_text()
    assert all(t.get_window_extent(renderer).x0 >= 0 for t in labels)


def test_the_saved_chart_keeps_its_width(tmp_path, monkeypatch):
    """Labels and legend fit the figure at the saved resolution, so the tight box adds only
    its 0.1-inch pad on each side (an unwrapped 52-character label widened it by ~2 inches,
    the one-line error-bar legend entry by ~0.3)."""
    _write_chewie_cells(tmp_path)
    widths: list = []
    save = summary_chart.save_figure
    monkeypatch.setattr(summary_chart, "save_figure",
                        lambda fig, path: widths.append(fig.get_figwidth()) or save(fig, path))
    path = summary_chart.plot_summary(_table(tmp_path, "neural", "chewie-1"), tmp_path / "n.png")
    with Image.open(path) as image:
        assert image.width <= (widths[0] + 2 * 0.1) * SAVE_DPI + 1


def test_panels_of_one_value_range_tick_alike_whatever_room_their_text_takes(
    tmp_path, captured
):
    # two neural metrics in [0, 1]: one panel's labels carry a long interval, the other's not
    for seed, (accuracy, delta) in enumerate(((0.71, 0.93), (0.75, 0.91))):
        write_cell(tmp_path, "neural", "chewie-1", "myow", seed,
                   {"accuracy": accuracy, "delta_accuracy": delta}, lambda d: [])
    table = _table(tmp_path, "neural", "chewie-1")
    intervals = {("myow", table.rows[0].data_source, "accuracy"): (0.61, 0.85)}
    summary_chart.plot_summary(table, tmp_path / "c.png", intervals=intervals)
    (fig,) = captured
    ticks = [list(ax.get_xticks()) for ax in fig.axes]
    # alike, and as many as the narrowest values' part holds (labels 0.45 in apart)
    assert len(ticks) >= 2 and all(t == pytest.approx([0.0, 1.0]) for t in ticks), ticks
    for ax in fig.axes:  # before: 0, 0.25, ..., 1 in about an inch, the labels overlapping
        left, right = ax.get_xlim()
        inches = ax.get_position().width * fig.get_figwidth()
        spacing = np.diff(ax.get_xticks()) / (right - left) * inches
        assert spacing.min() >= summary_chart.TICK_IN - 1e-9, spacing


def test_value_ticks_follow_the_values_not_the_room_for_text():
    assert summary_chart.value_ticks((0.0, 1.6, 0.98)) == summary_chart.value_ticks(
        (0.0, 1.2, 0.98))
    assert summary_chart.value_ticks((0.0, 0.5, 0.32)) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    # none past the panel's right edge
    assert summary_chart.value_ticks((0.0, 0.9, 0.88)) == pytest.approx([0, 0.25, 0.5, 0.75])
    # one interval: 0 and 1 for R² up to 0.85 with a negative interval end (not 0 and 2)
    assert summary_chart.value_ticks((-0.21, 3.0, 0.85), 1) == pytest.approx([0, 1])
    # a 2-inch panel whose values take a third of it: one interval at least 0.45 in wide
    assert summary_chart.tick_bins((0.0, 3.0, 0.98), 2.0) == 1
    assert summary_chart.tick_bins((0.0, 1.2, 0.98), 2.0) == 3


def test_a_panel_reaching_below_zero_keeps_the_whole_error_bar_inside():
    """The left edge sat exactly on the lowest interval end: half its cap was cut off."""
    bar = summary_chart.Bar(0, None, 0.19, [[0.40], [0.07]], "0.19 [-0.21, 0.26]")
    low, right, _ = summary_chart._limits([bar], panel_in=2.0)
    assert low < 0.19 - 0.40 < right
    assert summary_chart._limits([summary_chart.Bar(0, None, 0.5, None, "0.5")], 2.0)[0] == 0
