"""``Results.table()`` and ``str(results)`` give a row whose seeds do not vary it the bootstrap
95% interval over test samples that the report shows beside it (before: a bare number, and no
word of the uncertainty the report shows)."""

from __future__ import annotations

from mtneuro.api import Results
from mtneuro.tasks.api import Result

CARD = {"protocol": {"name": "task1-resized-quick", "version": 1}, "deviations": []}


def _task1_run(accuracies: list[float], low: float, high: float) -> Result:
    mean = sum(accuracies) / len(accuracies)
    return Result(task="task1", setting="roi-c1", method="pca",
                  metrics={"accuracy": {"mean": mean, "std": None, "n": len(accuracies)},
                           "per_seed": [{"seed": s, "accuracy": a}
                                        for s, a in enumerate(accuracies)],
                           "intervals": {"accuracy": {"low": low, "high": high}}},
                  headline={"accuracy": mean}, config={}, source={"source": "phantom"},
                  card=CARD)


def test_a_row_the_seeds_do_not_vary_carries_the_test_sample_interval():
    results = Results([_task1_run([0.75], 0.625, 0.875)])
    (row,) = results.table(published=False)
    assert (row["n"], row["std"], row["interval"]) == (1, None, (0.625, 0.875))
    assert "0.750 [0.625, 0.875]" in str(results)
    # identical over seeds: the first seed's interval, with the word that seeds changed nothing
    same = Results([_task1_run([0.75, 0.75], 0.625, 0.875)])
    assert "0.750 (identical over 2 seeds) [0.625, 0.875]" in str(same)


def test_a_row_the_seeds_vary_has_its_spread_and_no_interval():
    results = Results([_task1_run([0.5, 0.75], 0.625, 0.875)])
    (row,) = results.table(published=False)
    assert row["interval"] is None
    assert "0.625 ± 0.177 [" not in str(results) and "0.625 ± 0.177" in str(results)
