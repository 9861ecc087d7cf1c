"""The summary chart's chance line: our panels mark the score of always predicting the most
common training class, from the cells' records, where they agree on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixture import write_cell

from mtneuro.report import summary_chart
from mtneuro.report.chance import chance_marks
from mtneuro.report.leaderboard import build_tables, load_records

PHANTOM = "phantom (synthetic volume)"


def _cell(out: Path, method: str, seed: int, accuracy: float, chance: float) -> None:
    write_cell(out, "task1", "roi-c1", method, seed, {"accuracy": accuracy}, lambda d: [],
               metrics={"accuracy": accuracy, "majority": {"class": "CTX", "accuracy": chance}})


def _table_and_records(out: Path):
    records = load_records(out)
    (table,) = [t for t in build_tables(records) if (t.task, t.setting) == ("task1", "roi-c1")]
    return table, records


@pytest.fixture
def captured(monkeypatch) -> list:
    figs: list = []
    monkeypatch.setattr(summary_chart, "save_figure",
                        lambda fig, path: figs.append(fig) or Path(path))
    return figs


def test_our_panel_marks_chance_and_the_legend_names_it(tmp_path, captured):
    _cell(tmp_path, "pca", 0, 0.6, 0.25)
    _cell(tmp_path, "myow", 0, 0.8, 0.25)
    table, records = _table_and_records(tmp_path)
    marks = chance_marks(table, records)
    assert marks == {(PHANTOM, "accuracy"): 0.25}
    summary_chart.plot_summary(table, tmp_path / "c.png", chance=marks)
    fig = captured[0]
    ours, *published = fig.axes  # our panel first, then the published series' panels
    chance_lines = [line for line in ours.lines if line.get_color() == "#b03a2e"]
    assert [line.get_xdata()[0] for line in chance_lines] == [0.25]
    assert not any(line.get_color() == "#b03a2e" for ax in published for line in ax.lines)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert summary_chart.CHANCE_LEGEND in legend


def test_records_that_disagree_on_chance_mark_none_and_a_chart_without_marks_names_none(
        tmp_path, captured):
    _cell(tmp_path, "pca", 0, 0.6, 0.25)
    _cell(tmp_path, "myow", 0, 0.8, 0.30)  # another split's majority class share
    table, records = _table_and_records(tmp_path)
    assert chance_marks(table, records) == {}
    summary_chart.plot_summary(table, tmp_path / "c.png", chance={})
    legend = [t.get_text() for t in captured[0].legends[0].get_texts()]
    assert summary_chart.CHANCE_LEGEND not in legend


def test_a_chance_above_every_bar_stays_inside_the_panel(tmp_path, captured):
    _cell(tmp_path, "pca", 0, 0.1, 0.9)
    table, records = _table_and_records(tmp_path)
    summary_chart.plot_summary(table, tmp_path / "c.png", chance=chance_marks(table, records))
    left, right = captured[0].axes[0].get_xlim()
    assert left <= 0.9 < right
