"""Known answers for what the mutation audit of mtneuro.stats found unchecked: infinities
left out of a mean, the bootstrap's own settings (resamples, level) obeyed and recorded,
seeds judged to agree per column, and describe's digits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtneuro.stats import (bootstrap_interval, classification_intervals, describe,
                           first_seed_intervals, mean_std, seeds_agree)


def _ranks(totals: np.ndarray) -> np.ndarray:
    """A statistic that ignores the resample and returns 0, 1, ..., R - 1: its percentiles
    are known exactly, whatever the resample counts."""
    return np.arange(len(totals), dtype=np.float64)


def test_infinite_seeds_are_left_out_like_undefined_ones():
    # a diverged seed's inf would make the mean inf and the std NaN
    assert mean_std([1.0, float("inf"), 3.0, -float("inf")]) == {
        "mean": 2.0, "std": math.sqrt(2.0), "n": 2}


def test_the_resamples_argument_sets_how_many_draws_are_scored():
    shapes: list[tuple[int, ...]] = []

    def record(totals: np.ndarray) -> np.ndarray:
        shapes.append(totals.shape)
        return totals[..., 0]

    out = bootstrap_interval(record, [1.0, 2.0, 3.0], unit="x", resamples=7)
    assert shapes == [(7, 1)] and out["resamples"] == 7


@pytest.mark.parametrize("level, low, high", [(0.95, 2.5, 97.5), (0.5, 25.0, 75.0),
                                              (0.8, 10.0, 90.0)])
def test_the_level_sets_the_percentiles_and_is_recorded(level, low, high):
    # 101 draws 0..100: the q-th percentile is q itself (linear interpolation)
    out = bootstrap_interval(_ranks, np.ones(5), unit="bins", resamples=101, level=level)
    assert (out["low"], out["high"]) == (pytest.approx(low), pytest.approx(high))
    assert out["level"] == level and out["unit"] == "bins"


def _first_undefined(k: int):
    """A statistic whose first ``k`` draws are NaN (undefined) and the rest 0, 1, 2, ..."""
    def statistic(totals: np.ndarray) -> np.ndarray:
        draws = np.arange(len(totals), dtype=np.float64) - k
        return np.where(draws < 0, np.nan, draws)
    return statistic


def test_a_few_undefined_draws_are_left_out_of_the_percentiles():
    # 5 NaN draws of 106 (4.7%, within 1 - level): the interval is that of the 101 draws 0..100
    out = bootstrap_interval(_first_undefined(5), np.ones(5), unit="bins", resamples=106)
    assert (out["low"], out["high"]) == (pytest.approx(2.5), pytest.approx(97.5))


@pytest.mark.parametrize("undefined, resamples", [(6, 107), (50, 151), (76, 100)])
def test_a_metric_undefined_in_more_than_5_percent_of_resamples_has_no_interval(
        undefined, resamples):
    # the defined draws alone would describe only the resamples that contain the class
    out = bootstrap_interval(_first_undefined(undefined), np.ones(5), unit="bins",
                             resamples=resamples)
    assert math.isnan(out["low"]) and math.isnan(out["high"])


def test_a_class_in_one_test_sample_has_no_recall_interval():
    # the audit's case: class 2 is in 1 of 10 samples, so ~35% of resamples lack it; its
    # recall interval was [1.0, 1.0] from the resamples that drew it
    y = np.array([0, 1] * 4 + [0, 2])
    out = classification_intervals(y, y, 3, unit="tiles")["per_class_accuracy"]
    assert out["low"][:2] == [1.0, 1.0] and math.isnan(out["low"][2])


def test_seeds_agree_per_column_and_an_undefined_column_is_no_spread():
    # a class absent from the test set: its per-class accuracy is NaN for every seed
    absent = mean_std([[0.5, float("nan")], [0.5, float("nan")], [0.5, float("nan")]])
    assert math.isnan(absent["std"][1]) and seeds_agree(absent)
    rows = [{"seed": 4, "intervals": {"accuracy": {"low": 0.1, "high": 0.2}}}]
    assert first_seed_intervals(rows, absent) == {"accuracy": {"low": 0.1, "high": 0.2, "seed": 4}}
    # one column that varies is enough to show the spread over seeds instead
    assert not seeds_agree({"mean": [0.5, 0.6], "std": [0.0, 0.1], "n": 3})


def test_describe_prints_the_digits_asked_for():
    spread = {"mean": 0.8125, "std": 0.0213, "n": 3}
    assert describe(spread, digits=2) == "0.81 ± 0.02 over 3 seeds"
    interval = {"low": 0.791, "high": 0.846, "n": 40, "unit": "test tiles"}
    assert describe({"mean": 0.8125, "std": 0.0, "n": 2}, interval, digits=2) == (
        "0.81 [0.79, 0.85] 95% CI over 40 test tiles; deterministic: identical over 2 seeds")


def test_describe_leaves_out_an_undefined_interval():
    # e.g. an R² whose resamples mostly had a constant target: recorded with low / high None
    undefined = {"low": None, "high": None, "n": 40, "unit": "test crops"}
    assert describe({"mean": 0.5, "std": 0.0, "n": 1}, undefined) == "0.500; 1 seed"


def test_describe_of_a_summary_without_a_count_is_one_seed():
    assert describe({"mean": 0.5, "std": 0.0}) == "0.500; 1 seed"


@pytest.mark.parametrize("seeds", [1, 2])
def test_an_all_nan_column_stays_nan_with_any_number_of_seeds(seeds):
    """A class absent from the test set (its column NaN on every seed) has no std either,
    with one seed as with several; a defined column's std is 0 when the seeds agree."""
    out = mean_std([[0.5, float("nan")]] * seeds)
    assert out["mean"][0] == 0.5 and out["std"][0] == 0.0
    assert np.isnan(out["mean"][1]) and np.isnan(out["std"][1])
