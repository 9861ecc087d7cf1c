"""Known answers for the leaderboard's rows and their printed values, from the mutation audit
of mtneuro.report.leaderboard and published: which cells a row counts, which rows and tables
exist and in which order, and how a value is printed on our rows and on published ones."""

from __future__ import annotations

from typing import Any

import pytest

from mtneuro.report.leaderboard import (
    OURS,
    LeaderboardTable,
    Row,
    build_tables,
    stat_text,
    value_text,
)
from mtneuro.report.published import Stat, parse_published

PHANTOM = "phantom (synthetic volume)"


def _record(task: str, method: str, seed: int, headline: dict[str, Any] | None = None, *,
            setting: str = "roi-c1", status: str = "complete", source: str = "phantom") -> dict:
    """A cell record as load_records returns it (no files: build_tables reads only these keys)."""
    cell_id = f"{task}-{setting}-{method}-{source}-s{seed}"
    return {"cell": {"id": cell_id, "task": task, "setting": setting, "method": method},
            "status": status, "headline": headline or {}, "source": {"source": source},
            "_dir": f"cells/{cell_id}", "protocol": {"name": "t", "version": 1},
            "deviations": []}


def _rows(records: list[dict]) -> list[Row]:
    (table,) = build_tables(records, published=False)
    return table.rows


def test_a_row_counts_its_complete_seeds_and_its_failed_cells_apart():
    rows = _rows([_record("task1", "nmf", 0, {"accuracy": 0.5}),
                  _record("task1", "nmf", 1, {"accuracy": 0.7}),
                  _record("task1", "nmf", 2, status="failed")])
    # one row: a failed cell is neither a seed of the mean nor a row of its own
    (row,) = rows
    assert (row.n, row.failed) == (2, 1)
    assert row.values["accuracy"].mean == pytest.approx(0.6)
    assert row.cells == ["task1-roi-c1-nmf-phantom-s0", "task1-roi-c1-nmf-phantom-s1",
                         "task1-roi-c1-nmf-phantom-s2"]


def test_failed_cells_are_counted_once_over_a_methods_rows():
    rows = _rows([_record("task1", "nmf", 0, {"accuracy": 0.5}),
                  _record("task1", "nmf", 0, {"accuracy": 0.6}, source="bossdb"),
                  _record("task1", "nmf", 1, status="failed")])
    assert len(rows) == 2 and sum(row.failed for row in rows) == 1


def test_a_headline_value_no_seed_recorded_gets_no_column():
    # a metric undefined on every seed (None in the record) must not print as nan
    rows = _rows([_record("task1", "nmf", 0, {"accuracy": 0.5, "f1_avg": None}),
                  _record("task1", "nmf", 1, {"accuracy": 0.5, "f1_avg": None})])
    assert list(rows[0].values) == ["accuracy"]
    (table,) = build_tables([_record("task1", "nmf", 0, {"accuracy": 0.5, "f1_avg": None})],
                            published=False)
    assert table.metrics == ["accuracy"]


def test_skipped_cells_make_no_row_and_no_table():
    assert build_tables([_record("task1", "nmf", 0, status="skipped")], published=False) == []
    rows = _rows([_record("task1", "nmf", 0, {"accuracy": 0.5}),
                  _record("task1", "pca", 0, status="skipped")])
    assert [row.method for row in rows] == ["nmf"]


def test_tables_follow_the_task_order_and_unknown_tasks_come_last():
    records = [_record("zzz-plugin", "m", 0, {"score": 1.0}, setting="a"),
               _record("neural", "raw", 0, {"accuracy": 0.5}, setting="chewie-1"),
               _record("aaa-plugin", "m", 0, {"score": 1.0}, setting="a"),
               _record("task2", "unet", 0, {"f1_avg": 0.5}, setting="2d-4class"),
               _record("task1", "nmf", 0, {"accuracy": 0.5})]
    order = [t.task for t in build_tables(records, published=False)]
    assert order == ["task1", "task2", "neural", "aaa-plugin", "zzz-plugin"]


def test_published_identical_values_print_their_zero_std_ours_say_same_for_all_seeds():
    # "same for all N seeds" speaks of our seeds; a published row prints what its source gives
    identical = Stat.of([0.5, 0.5, 0.5])
    assert stat_text(identical, ours=False) == "0.500 ± 0.000"
    assert stat_text(identical, ours=True) == "0.500 (same for all 3 seeds)"


def test_a_published_row_never_takes_our_rows_interval():
    ours = Row(OURS, "nmf", PHANTOM, {"accuracy": Stat.of([0.6, 0.6])}, n=2)
    paper = Row("paper", "nmf", PHANTOM, {"accuracy": Stat(0.7, 0.01)})
    table = LeaderboardTable("task1", "roi-c1", ["accuracy"], [ours, paper],
                             intervals={("nmf", PHANTOM, "accuracy"): (0.5, 0.65)})
    assert value_text(table, ours, "accuracy") == "0.600 [0.500, 0.650] (same for all 2 seeds)"
    assert value_text(table, paper, "accuracy") == "0.700 ± 0.010"


def test_published_rows_are_those_of_the_tables_own_setting():
    from mtneuro.report.published import load_published

    for setting in ("roi-c1", "roi-c3"):
        (table,) = build_tables([_record("task1", "nmf", 0, {"accuracy": 0.5}, setting=setting)])
        published = [row for row in table.rows if row.kind != OURS]
        expected = [p for p in load_published() if (p.task, p.setting) == ("task1", setting)]
        assert len(published) == len(expected) > 0
        assert [row.values for row in published] == [dict(p.metrics) for p in expected]


def _document(metrics: dict, run_here: bool | None = None) -> dict:
    source = {"label": "reference code", "citation": "c", "url": "u", "detail": "d"}
    if run_here is not None:
        source["run_here"] = run_here
    return {"schema_version": 1, "sources": {"ref": source},
            "rows": [{"task": "task1", "setting": "roi-c1", "method": "nmf",
                      "method_title": "NMF", "source": "ref", "data": "real", "metrics": metrics}]}


def test_published_per_seed_values_are_summarised_with_the_sample_std():
    (row,) = parse_published(_document({"accuracy": {"values": [0.5, 0.7]},
                                        "f1_avg": {"mean": 0.4, "std": 0.05}}))
    assert row.metrics["accuracy"] == Stat(pytest.approx(0.6), pytest.approx(0.1414213562), 2)
    assert row.metrics["f1_avg"].format() == "0.400 ± 0.050"
    assert Stat(0.4, 0.05).format(2) == "0.40 ± 0.05"
    # one published value has no spread to print
    (single,) = parse_published(_document({"accuracy": {"values": [0.5]}}))
    assert single.metrics["accuracy"].format() == "0.500"
    assert row.label == "reference code" and row.run_here is False
    assert parse_published(_document({"accuracy": {"mean": 0.5}}, run_here=True))[0].run_here


def test_a_users_file_named_like_a_catalogued_recording_gets_none_of_its_rows():
    # its setting is the file's name: a user's chewie-1.npz is not Chewie day 1
    def record(catalogued: bool) -> dict:
        out = _record("neural", "raw", 0, {"accuracy": 0.5}, setting="chewie-1")
        out["source"] = {"source": "chewie-1", "catalogued": catalogued}
        return out

    (real,) = build_tables([record(True)])
    assert [r.kind for r in real.rows if r.kind != OURS]  # the reference-code rows
    (own,) = build_tables([record(False)])
    assert [r.kind for r in own.rows] == [OURS]
