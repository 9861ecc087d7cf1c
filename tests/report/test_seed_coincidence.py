"""A value equal over seeds that trained different models is a coincidence: it is not called
deterministic, not shown with one seed's interval as everyone's, and a seed-std win inside
the raw readout's interval over test samples is said apart (report walkthrough, F1-F3)."""

from __future__ import annotations

from pathlib import Path

from report_fixture import write_cell

from mtneuro.report.findings import ssl_versus_raw
from mtneuro.report.intervals import table_intervals
from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row, build_tables, load_records
from mtneuro.report.published import Stat
from mtneuro.stats import describe_row

SOURCE = "real recording x"


def test_a_value_equal_over_seeds_of_a_run_that_varies_is_not_deterministic() -> None:
    same = {"mean": 0.734, "std": 0.0, "n": 2}
    varied = {"mean": 0.829, "std": 0.009, "n": 2}
    interval = {"low": 0.61, "high": 0.85, "n": 16, "unit": "test trials"}
    line = describe_row([("accuracy", same, interval), ("delta_accuracy", varied, None)])
    assert line == ("accuracy 0.734 (identical over 2 seeds), "
                    "delta_accuracy 0.829 ± 0.009 over 2 seeds")
    # every value equal over the seeds: the method's seed changed nothing
    both = describe_row([("accuracy", same, interval), ("delta_accuracy", same, interval)])
    assert both.endswith("(95% CI over 16 test trials; deterministic: identical over 2 seeds)")


def _cell(out: Path, seed: int, accuracy: float, delta: float) -> None:
    interval = {"low": accuracy - 0.1, "high": accuracy + 0.1, "level": 0.95, "n": 16,
                "unit": "test trials"}
    write_cell(out, "task1", "roi-c1", "myow", seed, {"accuracy": accuracy,
                                                      "balanced_accuracy": delta},
               lambda d: [], metrics={"accuracy": {"mean": accuracy},
                                      "balanced_accuracy": {"mean": delta},
                                      "intervals": {"accuracy": interval,
                                                    "balanced_accuracy": interval}})


def test_a_row_whose_seeds_vary_any_metric_takes_no_interval(tmp_path: Path) -> None:
    _cell(tmp_path, 0, 0.7, 0.80)
    _cell(tmp_path, 1, 0.7, 0.82)  # accuracy equal by chance; the other metric differs
    records = load_records(tmp_path)
    (table,) = [t for t in build_tables(records, published=False) if t.task == "task1"]
    assert table_intervals(table, records) == {}
    _cell(tmp_path, 1, 0.7, 0.80)  # now the seeds agree on every metric
    records = load_records(tmp_path)
    (table,) = [t for t in build_tables(records, published=False) if t.task == "task1"]
    assert set(table_intervals(table, records)) == {
        ("myow", table.rows[0].data_source, "accuracy"),
        ("myow", table.rows[0].data_source, "balanced_accuracy")}


def _neural(myow: list[float], raw: float, raw_interval: tuple[float, float] | None
            ) -> LeaderboardTable:
    rows = [Row(OURS, "myow", SOURCE, {"delta_accuracy": Stat.of(myow)}, n=len(myow)),
            Row(OURS, "raw", SOURCE, {"delta_accuracy": Stat.of([raw] * len(myow))},
                n=len(myow))]
    table = LeaderboardTable("neural", "x", ["delta_accuracy"], rows)
    if raw_interval is not None:
        table.intervals = {("raw", SOURCE, "delta_accuracy"): raw_interval}
    return table


def test_a_seed_std_win_inside_the_raw_interval_is_said_apart() -> None:
    # myow 0.829 ± 0.009 against raw 0.797: +0.032 > the seed std, but 0.829 is inside raw's
    # interval over 16 test trials
    text = ssl_versus_raw(_neural([0.823, 0.835], 0.797, (0.679, 0.901)))
    assert ("above by more than the seed std, but inside the raw readout's 95% interval over "
            "test samples [0.679, 0.901], so test samples alone could give that difference: "
            "myow (+0.032, seed std 0.008)") in text
    assert "above the raw-rate readout by more than the seed std" not in text
    # beyond the raw interval: a win on both counts
    text = ssl_versus_raw(_neural([0.823, 0.835], 0.797, (0.760, 0.820)))
    assert ("above the raw-rate readout by more than the seed std and beyond its 95% interval "
            "over test samples: myow (+0.032, seed std 0.008)") in text
    # no raw interval recorded: the seed test alone, worded as before
    text = ssl_versus_raw(_neural([0.823, 0.835], 0.797, None))
    assert "above the raw-rate readout by more than the seed std: myow (+0.032" in text
