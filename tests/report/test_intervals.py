"""Bootstrap intervals in the report: shown where seeds do not vary a value, not elsewhere."""

from __future__ import annotations

from report_fixture import write_cell

from mtneuro.report.html import build_report
from mtneuro.report.intervals import headline_interval, table_intervals
from mtneuro.report.leaderboard import build_tables, load_records


def _interval(low: float, high: float) -> dict:
    return {"low": low, "high": high, "level": 0.95, "n": 40, "unit": "test tiles"}


def _suite(tmp_path):
    for seed in range(3):  # identical over seeds: the interval is the spread to show
        write_cell(tmp_path, "task1", "roi-c1", "nmf", seed, {"accuracy": 0.6}, lambda d: [],
                   metrics={"accuracy": {"mean": 0.6}, "intervals": {
                       "accuracy": _interval(0.45 + seed / 100, 0.75)}})
    for seed, acc in enumerate((0.7, 0.8)):  # seeds differ: std over seeds, no interval
        write_cell(tmp_path, "task1", "roi-c1", "pca", seed, {"accuracy": acc}, lambda d: [],
                   metrics={"intervals": {"accuracy": _interval(0.1, 0.9)}})
    write_cell(tmp_path, "task2", "2d-4class", "unet", 0, {"f1_avg": 0.7, "iou_avg": 0.5},
               lambda d: [], metrics={"intervals": {"avg_f1": _interval(0.6, 0.8),
                                                    "f1": {"cell": _interval(0.2, 0.4)}}})
    return tmp_path


def test_headline_keys_find_their_intervals():
    metrics = {"intervals": {"avg_f1": _interval(1, 2), "iou": {"axon": _interval(3, 4)},
                             "r2_test": {"cell_count": _interval(5, 6)}}}
    assert headline_interval(metrics, "f1_avg")["low"] == 1
    assert headline_interval(metrics, "iou_axon")["low"] == 3
    assert headline_interval(metrics, "r2_test_cell_count")["low"] == 5
    assert headline_interval(metrics, "r2_cell_count") is None  # in-sample: no test samples
    assert headline_interval({}, "accuracy") is None
    # a neural sleep run's weighted F1 sits under its own name, not under task 2's f1 / <class>
    sleep = {"intervals": {"f1_weighted": _interval(7, 8), "f1": {"weighted": _interval(9, 10)}}}
    assert headline_interval(sleep, "f1_weighted")["low"] == 7
    assert headline_interval({"intervals": {"f1_weighted": _interval(7, 8)}}, "f1_weighted")["low"] == 7


def test_rows_whose_seeds_agree_get_the_first_seeds_interval(tmp_path):
    records = load_records(_suite(tmp_path))
    tables = {t.task: t for t in build_tables(records, published=False)}
    task1 = table_intervals(tables["task1"], records)
    assert task1 == {("nmf", "phantom (synthetic volume)", "accuracy"): (0.45, 0.75)}
    task2 = table_intervals(tables["task2"], records)
    assert task2[("unet", "phantom (synthetic volume)", "f1_avg")] == (0.6, 0.8)
    assert ("unet", "phantom (synthetic volume)", "iou_avg") not in task2  # none recorded


def test_page_and_markdown_print_the_interval(tmp_path):
    paths = build_report(_suite(tmp_path), published=False)
    for text in (paths["html"].read_text(), paths["markdown"].read_text()):
        assert "0.600 [0.450, 0.750] (same for all 3 seeds)" in text
        assert "0.750 ± 0.071" in text and "[0.100, 0.900]" not in text
        assert "0.700 [0.600, 0.800]" in text
