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


def test_print_says_n_and_what_the_brackets_and_plus_minus_are():
    """``print(results)`` showed "0.500 [0.321, 0.679]" and "0.880 ± 0.030" with no n and no
    word of what the brackets and ± are (the report and leaderboard.md say both)."""
    one = str(Results([_task1_run([0.75], 0.625, 0.875)])).splitlines()
    assert one[0] == ("key: n: seeds; ±: sample std over seeds (n - 1); published rows: as "
                      "their source gives it; [low, high]: bootstrap 95% interval over the "
                      "first seed's test samples")
    assert "0.750 [0.625, 0.875] n=1  [ours; " in one[1]
    assert not any(" n=" in line for line in one if "[published: " in line)  # n not known
    two = Results([_task1_run([0.5, 0.75], 0.625, 0.875)])
    assert repr(two).splitlines()[1] == "key: n: seeds; ±: sample std over seeds (n - 1)"
    (ours,) = [line for line in str(two).splitlines() if "[ours; " in line]
    assert "0.625 ± 0.177 " in ours and " n=2  [ours; " in ours
    assert "<th>n</th>" in two._repr_html_() and "<td>2</td>" in two._repr_html_()
