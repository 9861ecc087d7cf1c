"""Which record a leaderboard row takes its bootstrap interval from (mutation audit): only
complete cells of the row's own setting and data source, never an undefined interval, and
never a group of intervals taken for one."""

from __future__ import annotations

import copy
from pathlib import Path

from report_fixture import write_cell

from mtneuro.report.intervals import headline_interval, table_intervals
from mtneuro.report.leaderboard import build_tables, load_records

BOSSDB = {"source": "bossdb", "params": {}}
PHANTOM_LABEL = "phantom (synthetic volume)"


def _interval(low: float | None, high: float | None) -> dict:
    return {"low": low, "high": high, "level": 0.95, "n": 40, "unit": "test tiles"}


def _cell(out: Path, setting: str, low: float | None, high: float | None) -> None:
    write_cell(out, "task1", setting, "nmf", 0, {"accuracy": 0.6}, lambda d: [],
               metrics={"accuracy": {"mean": 0.6},
                        "intervals": {"accuracy": _interval(low, high)}})


def _intervals(out: Path, setting: str, records: list[dict] | None = None) -> dict:
    loaded = load_records(out)
    (table,) = [t for t in build_tables(loaded, published=False)
                if (t.task, t.setting) == ("task1", setting)]
    return table_intervals(table, loaded if records is None else records)


def test_each_setting_shows_its_own_cells_interval(tmp_path):
    # one nmf cell per setting: the roi-c1 record sorts first, roi-c3's row must not take it
    _cell(tmp_path, "roi-c1", 0.4, 0.7)
    _cell(tmp_path, "roi-c3", 0.1, 0.2)
    assert _intervals(tmp_path, "roi-c3") == {("nmf", PHANTOM_LABEL, "accuracy"): (0.1, 0.2)}
    assert _intervals(tmp_path, "roi-c1") == {("nmf", PHANTOM_LABEL, "accuracy"): (0.4, 0.7)}


def test_each_data_source_shows_its_own_cells_interval(tmp_path):
    _cell(tmp_path, "roi-c1", 0.4, 0.7)
    records = load_records(tmp_path)
    other = copy.deepcopy(records[0])
    other["source"] = BOSSDB
    other["metrics"]["intervals"]["accuracy"] = _interval(0.0, 0.1)
    out = _intervals(tmp_path, "roi-c1", [other, *records])  # the other source's record first
    assert out[("nmf", PHANTOM_LABEL, "accuracy")] == (0.4, 0.7)


def test_records_of_cells_that_did_not_complete_are_ignored(tmp_path):
    _cell(tmp_path, "roi-c1", 0.4, 0.7)
    records = load_records(tmp_path)
    failed = copy.deepcopy(records[0])
    failed["status"] = "failed"
    failed["metrics"]["intervals"]["accuracy"] = _interval(0.0, 0.1)
    out = _intervals(tmp_path, "roi-c1", [failed, *records])
    assert out == {("nmf", PHANTOM_LABEL, "accuracy"): (0.4, 0.7)}


def test_an_undefined_interval_is_left_out(tmp_path):
    # e.g. the R² of a constant feature: recorded with low / high null, shown without a bar
    _cell(tmp_path, "roi-c1", None, None)
    assert _intervals(tmp_path, "roi-c1") == {}


def test_a_group_of_intervals_is_not_an_interval():
    # "f1" names task 2's per-class group: a key equal to it finds no interval of its own
    metrics = {"intervals": {"f1": {"cell": _interval(0.2, 0.4)}, "avg_f1": _interval(0.6, 0.8)}}
    assert headline_interval(metrics, "f1") is None
    assert headline_interval(metrics, "f1_cell") == _interval(0.2, 0.4)
