"""Known answers at the edges of the report's SSL-versus-raw verdict (mutation audit of
mtneuro.report.findings): a gap equal to the seed std, intervals that only touch, and
published rows, which take no part."""

from __future__ import annotations

from mtneuro.report.findings import ssl_versus_raw
from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row
from mtneuro.report.published import Stat

SOURCE = "real recording x"


def _table(myow: list[float], raw: float) -> LeaderboardTable:
    rows = [Row(OURS, "myow", SOURCE, {"accuracy": Stat.of(myow)}, n=len(myow)),
            Row(OURS, "raw", SOURCE, {"accuracy": Stat.of([raw] * len(myow))}, n=len(myow))]
    return LeaderboardTable("neural", "x", ["accuracy"], rows)


def test_a_gap_equal_to_the_seed_std_is_not_above():
    # binary fractions, so mean 0.5, std 0.25 and gap 0.25 are exact: "more than" is strict
    table = _table([0.25, 0.5, 0.75], 0.25)
    assert table.rows[0].values["accuracy"].std == 0.25
    assert ssl_versus_raw(table).endswith(
        "no self-supervised method is above the raw-rate readout by more than its seed std.")
    above = ssl_versus_raw(_table([0.25, 0.5, 0.75], 0.25 - 2**-10))
    assert "by more than the seed std: myow (+0.251, seed std 0.250)" in above


def test_intervals_that_touch_overlap():
    table = _table([0.9] * 3, 0.82)
    table.intervals = {("myow", SOURCE, "accuracy"): (0.84, 0.95),
                       ("raw", SOURCE, "accuracy"): (0.80, 0.84)}
    assert ssl_versus_raw(table).endswith("by more than its seed std or beyond its 95% interval.")
    table.intervals[("raw", SOURCE, "accuracy")] = (0.80, 0.8399)
    assert "lies above the raw readout's for: myow (+0.080)" in ssl_versus_raw(table)


def test_a_published_row_of_the_same_source_plays_no_part():
    # named like our methods and on our data source: still not ours, so not compared
    table = _table([0.80, 0.82, 0.84], 0.70)
    table.rows += [Row("paper", "raw", SOURCE, {"accuracy": Stat(0.95)}),
                   Row("paper", "byol", SOURCE, {"accuracy": Stat(0.99, 0.001)})]
    text = ssl_versus_raw(table)
    assert "against raw rates 0.700 (same for all 3 seeds)" in text and "byol" not in text
    assert "myow (+0.120, seed std 0.020)" in text
