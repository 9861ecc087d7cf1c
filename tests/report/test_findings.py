"""The report's sentence on self-supervised methods against raw rates, on known answers."""

from __future__ import annotations

from mtneuro.report.findings import ssl_versus_raw
from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row
from mtneuro.report.published import Stat


def _table(myow: list[float], byol: list[float], raw: float, task: str = "neural") -> LeaderboardTable:
    rows = [Row(OURS, name, "real recording x", {"accuracy": Stat.of(values)}, n=len(values))
            for name, values in (("myow", myow), ("byol", byol), ("raw", [raw] * len(myow)))]
    rows.append(Row("paper", "myow", "real", {"accuracy": Stat(0.99)}))  # published rows play no part
    return LeaderboardTable(task, "x", ["accuracy"], rows)


def test_a_method_above_raw_by_more_than_its_seed_std_is_named():
    text = ssl_versus_raw(_table([0.80, 0.82, 0.84], [0.69, 0.71, 0.73], 0.70))
    # myow: +0.12 > std 0.02; byol: +0.01, within its std 0.02
    assert "above the raw-rate readout by more than the seed std: myow (+0.120, seed std 0.020)." in text
    assert "byol (+" not in text


def test_no_method_above_raw_beyond_seed_noise_is_said_plainly():
    text = ssl_versus_raw(_table([0.70, 0.80, 0.90], [0.60, 0.62, 0.64], 0.75))
    assert text.endswith("no self-supervised method is above the raw-rate readout by more than its seed std.")
    assert "myow 0.800 ± 0.100, byol" not in text and "byol 0.620 ± 0.020, myow 0.800 ± 0.100" in text


def test_one_seed_decides_nothing_and_other_tasks_get_no_sentence():
    assert "one seed, so no seed spread" in ssl_versus_raw(_table([0.9], [0.8], 0.5))
    assert ssl_versus_raw(_table([0.9, 0.9], [0.8, 0.8], 0.5, task="task1")) is None
    no_raw = _table([0.9, 0.9], [0.8, 0.8], 0.5)
    no_raw.rows = [r for r in no_raw.rows if r.method != "raw"]
    assert ssl_versus_raw(no_raw) is None


def test_identical_seeds_are_not_a_zero_threshold_and_intervals_decide_where_recorded():
    table = _table([0.9, 0.9, 0.9], [0.7, 0.8, 0.9], 0.9 - 1e-4)
    text = ssl_versus_raw(table)
    assert "myow 0.900 (same for all 3 seeds)" in text and "± 0.000" not in text
    assert "myow: every seed gave the same value, so there is no seed spread" in text
    assert "by more than the seed std: myow" not in text
    # with bootstrap intervals over test samples: above only where they do not overlap
    table.intervals = {("myow", "real recording x", "accuracy"): (0.85, 0.95),
                       ("raw", "real recording x", "accuracy"): (0.84, 0.94)}
    assert "no self-supervised method is above the raw-rate readout by more than its seed std or " \
           "beyond its 95% interval" in ssl_versus_raw(table)
    table.intervals[("raw", "real recording x", "accuracy")] = (0.80, 0.84)
    assert "lies above the raw readout's for: myow (+0.000)" in ssl_versus_raw(table)


def test_methods_are_compared_with_the_raw_readout_of_their_own_data_source():
    rows = [Row(OURS, method, source, {"accuracy": Stat.of(values)}, n=len(values))
            for method, source, values in (
                ("byol", "recording A", [0.62, 0.625, 0.63]), ("raw", "recording A", [0.605] * 3),
                ("raw", "recording B", [0.405] * 3))]
    text = ssl_versus_raw(LeaderboardTable("neural", "x", ["accuracy"], rows))
    assert "against raw rates 0.605" in text and "0.405" not in text
    assert "by more than the seed std: byol (+0.020, seed std 0.005)." in text  # not +0.220
    rows.append(Row(OURS, "myow", "recording B", {"accuracy": Stat.of([0.5, 0.52, 0.54])}, n=3))
    text = ssl_versus_raw(LeaderboardTable("neural", "x", ["accuracy"], rows))
    assert text.startswith("On recording A, ") and "On recording B, " in text
    assert "myow 0.520 ± 0.020 against raw rates 0.405" in text


def test_the_printed_gap_is_larger_than_the_printed_std():
    text = ssl_versus_raw(_table([0.80, 0.81004, 0.82008], [0.5, 0.51, 0.52], 0.8))
    assert "myow (+0.01004, seed std 0.01004)" not in text
    assert "by more than the seed std: myow" not in text  # +0.01004 is not above std 0.01004
    text = ssl_versus_raw(_table([0.80, 0.81, 0.82], [0.5, 0.51, 0.52], 0.79996))
    assert "myow (+0.01004, seed std 0.01000)" in text
