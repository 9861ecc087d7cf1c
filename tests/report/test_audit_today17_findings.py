"""Mutation audit (mut17) of the neural finding: a mean exactly at the raw readout's upper
interval bound is inside that (closed) interval, so not a win over test-sample noise."""

from __future__ import annotations

from mtneuro.report.findings import ssl_versus_raw
from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row
from mtneuro.report.published import Stat

SOURCE = "real recording x"


def test_a_mean_on_the_raw_intervals_upper_bound_is_inside_it() -> None:
    # binary-exact values: myow's mean 0.8125 is the bound itself, +0.3125 > seed std 0.088
    rows = [Row(OURS, "myow", SOURCE, {"delta_accuracy": Stat.of([0.75, 0.875])}, n=2),
            Row(OURS, "raw", SOURCE, {"delta_accuracy": Stat.of([0.5, 0.5])}, n=2)]
    table = LeaderboardTable("neural", "x", ["delta_accuracy"], rows)
    table.intervals = {("raw", SOURCE, "delta_accuracy"): (0.25, 0.8125)}
    text = ssl_versus_raw(table)
    assert ("but inside the raw readout's 95% interval over test samples [0.250, 0.812], so "
            "test samples alone could give that difference: myow (+0.312") in text
    assert "above the raw-rate readout by more than the seed std" not in text
