"""Spread as people read it: a std above 0 never prints as ``± 0.000`` (which reads as "the
seeds agreed"), and a seed-by-class column with one finite value has no spread to show."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtneuro.errors import DataError
from mtneuro.report.published import Stat
from mtneuro.stats import describe, mean_std, plus_minus
from mtneuro.tasks.majority import baseline_text
from mtneuro.tasks.scores import accuracy_and_f1, classification_metrics


@pytest.mark.parametrize("std, digits, text", [
    (0.02, 3, "0.812 ± 0.020"),        # enough decimals already
    (0.0004, 3, "0.8120 ± 0.0004"),    # would round to 0.000
    (0.00049, 3, "0.8120 ± 0.0005"),
    (0.0005, 3, "0.812 ± 0.001"),      # rounds up to 0.001: no extra digit needed
    (0.00006, 3, "0.81200 ± 0.00006"),
    (0.004, 2, "0.812 ± 0.004"),
    (0.0, 3, "0.812 ± 0.000"),         # a std of exactly 0 is printed as given
    (8e-17, 3, "0.812 ± 8e-17"),       # seeds that differ in the last bit
])
def test_plus_minus_shows_the_first_digit_of_a_small_std(std, digits, text):
    assert plus_minus(0.812, std, digits) == text


def test_every_printer_of_a_seed_spread_keeps_a_small_std_visible():
    seeds = [0.9991, 0.9995, 0.9999]  # std 0.0004
    assert Stat.of(seeds).format() == "0.9995 ± 0.0004"
    assert describe(mean_std(seeds)) == "0.9995 ± 0.0004 over 3 seeds"
    line = baseline_text("lead", {"class": "nREM", "accuracy": 0.5, "accuracy_std": 0.0003}, 3)
    assert line == "lead (nREM): accuracy 0.5000 ± 0.0003 over 3 seeds"


def test_a_column_finite_in_one_of_several_seeds_has_no_std():
    # was std 0.0 with n = 2, which reads as "2 seeds, identical"
    out = mean_std([[1.0, 2.0], [3.0, np.nan]])
    assert out["mean"] == [2.0, 2.0] and out["n"] == 2
    assert out["std"][0] == pytest.approx(math.sqrt(2.0)) and math.isnan(out["std"][1])
    # one seed: that value with std 0, as for a 1-D summary
    assert mean_std([[1.0, 2.0]])["std"] == [0.0, 0.0]


def test_scores_of_no_samples_are_refused():
    empty = np.array([], dtype=int)
    with pytest.raises(DataError, match="no samples to score"):
        accuracy_and_f1(empty, empty)
    with pytest.raises(DataError, match="no samples to score"):
        classification_metrics(empty, empty, 4)
