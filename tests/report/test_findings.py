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
