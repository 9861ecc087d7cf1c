"""``Results.table()`` of a task command's multi-seed run counts its seeds: before, the run was
one record whose headline is the mean over seeds, so its row said n = 1 with no spread."""

from __future__ import annotations

import statistics

import pytest

from mtneuro.api import Results
from mtneuro.tasks.api import Result


def _task1_run(accuracies: list[float]) -> Result:
    mean = statistics.fmean(accuracies)
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else None
    return Result(task="task1", setting="roi-c1", method="supervised",
                  metrics={"accuracy": {"mean": mean, "std": std, "n": len(accuracies)},
                           "per_seed": [{"seed": s, "accuracy": a}
                                        for s, a in enumerate(accuracies)]},
                  headline={"accuracy": mean}, config={}, source={"source": "phantom"},
                  card={"protocol": {"name": "task1-resized-quick", "version": 1},
                        "deviations": []})


def test_a_multi_seed_run_is_one_value_per_seed():
    (row,) = Results([_task1_run([0.4, 0.6, 0.8])]).table(published=False)
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(0.6)
    assert row["std"] == pytest.approx(statistics.stdev([0.4, 0.6, 0.8]))


def test_rows_that_do_not_hold_the_headline_leave_the_run_one_record():
    run = _task1_run([0.4, 0.6])
    run.metrics["per_seed"] = [{"seed": 0, "scores": {}}, {"seed": 1, "scores": {}}]
    (row,) = Results([run]).table(published=False)
    assert (row["n"], row["mean"], row["std"]) == (1, pytest.approx(0.5), None)


def test_a_record_whose_headline_is_not_in_its_rows_stays_one_row():
    # an aggregate of plain means (no {mean, std, n}) and no seed_metrics to read a seed's
    # numbers: each seed would repeat the mean with std 0
    run = _task1_run([0.4, 0.6])
    run.metrics["accuracy"] = 0.5
    run.metrics["per_seed"] = [{"seed": 0, "accuracy": 0.4}, {"seed": 1, "accuracy": 0.6}]
    run.headline = {"accuracy": 0.5}
    (row, *_) = Results([run]).table(published=False)
    assert (row["n"], row["std"]) == (1, None)
