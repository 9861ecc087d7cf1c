"""Bootstrap 95% intervals over test samples (mtneuro.stats), on cases with known answers."""

import numpy as np
import pytest

from mtneuro.stats import (
    bootstrap_interval,
    classification_intervals,
    first_seed_intervals,
    mean_interval,
    r2_interval,
    seeds_agree,
)


def test_degenerate_samples_give_a_point_interval():
    """Every tile right: every resample scores 1.0, so the interval is [1, 1]."""
    labels = np.array([0, 1, 2, 3] * 25)
    out = classification_intervals(labels, labels, 4, unit="tiles")
    assert out["accuracy"]["low"] == out["accuracy"]["high"] == 1.0
    assert out["per_class_accuracy"]["low"] == [1.0] * 4
    assert out["accuracy"]["n"] == 100 and out["accuracy"]["unit"] == "tiles"
    constant = mean_interval(np.full(50, 0.25), unit="images")
    assert constant["low"] == pytest.approx(0.25) and constant["high"] == pytest.approx(0.25)


def test_binomial_accuracy_matches_the_normal_approximation():
    """n = 2000 samples, 70 % right: p +- 1.96 sqrt(p (1 - p) / n) = 0.7 +- 0.0201."""
    n, p = 2000, 0.7
    correct = np.zeros(n)
    correct[: int(p * n)] = 1
    out = mean_interval(correct, unit="bins")
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    assert out["low"] == pytest.approx(p - half, abs=0.004)
    assert out["high"] == pytest.approx(p + half, abs=0.004)


def test_fixed_seed_gives_the_same_interval():
    values = np.random.default_rng(3).random(200)
    assert mean_interval(values, unit="x") == mean_interval(values, unit="x")
    other = bootstrap_interval(lambda t: t[..., 0] / t[..., 1], np.c_[values, np.ones(200)],
                               unit="x", seed=1)
    assert other["low"] != mean_interval(values, unit="x")["low"]


def test_classification_point_estimates_inside_their_intervals():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 400)
    pred = np.where(rng.random(400) < 0.6, truth, rng.integers(0, 3, 400))
    out = classification_intervals(truth, pred, 3, unit="trials")
    for name, value in (("accuracy", np.mean(truth == pred)),
                        ("f1_weighted", f1_score(truth, pred, average="weighted")),
                        ("avg_f1", f1_score(truth, pred, average="macro"))):
        assert out[name]["low"] < value < out[name]["high"], name


def test_r2_interval_of_a_perfect_fit_and_a_noisy_one():
    y = np.random.default_rng(0).normal(size=(300, 2))
    perfect = r2_interval(y, y, unit="crops")
    assert perfect["low"] == pytest.approx([1.0, 1.0]) and perfect["high"] == pytest.approx([1.0, 1.0])
    noisy = y + np.random.default_rng(1).normal(scale=1.0, size=y.shape)
    r2 = 1 - ((y - noisy) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    out = r2_interval(y, noisy, unit="crops")
    assert all(lo < v < hi for lo, v, hi in zip(out["low"], r2, out["high"]))


def test_intervals_shown_only_when_seeds_agree():
    rows = [{"seed": 0, "intervals": {"accuracy": {"low": 0.1, "high": 0.2}}}, {"seed": 1}]
    same = {"mean": 0.5, "std": 0.0, "n": 2}
    varied = {"mean": 0.5, "std": 0.1, "n": 2}
    assert seeds_agree(same) and seeds_agree({"mean": 0.5, "std": 0.0, "n": 1})
    assert not seeds_agree(same, varied)
    assert first_seed_intervals(rows, same) == {"accuracy": {"low": 0.1, "high": 0.2, "seed": 0}}
    assert first_seed_intervals(rows, varied) is None


def test_groups_resample_whole_tiles():
    """Four identical crops per tile: resampling tiles gives the interval of the tiles alone;
    resampling crops as if independent gives one too narrow (by about sqrt 4 = 2)."""
    rng = np.random.default_rng(0)
    tile_correct = (rng.random(300) < 0.7).astype(float)
    crops = np.repeat(tile_correct, 4)
    by_tile = mean_interval(crops, unit="tiles", groups=np.repeat(np.arange(300), 4))
    tiles = mean_interval(tile_correct, unit="tiles")
    assert by_tile["n"] == 300
    assert by_tile["high"] - by_tile["low"] == pytest.approx(tiles["high"] - tiles["low"], rel=0.15)
    naive = mean_interval(crops, unit="crops")
    assert (by_tile["high"] - by_tile["low"]) / (naive["high"] - naive["low"]) == pytest.approx(2, rel=0.2)


def test_describe_never_prints_a_zero_std():
    from mtneuro.stats import describe

    interval = {"low": 0.8, "high": 0.86, "n": 120, "unit": "test tiles"}
    assert describe({"mean": 0.812, "std": 0.02, "n": 3}, interval) == "0.812 ± 0.020 over 3 seeds"
    assert describe({"mean": 0.829, "std": 0.0, "n": 3}, interval) == (
        "0.829 [0.800, 0.860] 95% CI over 120 test tiles; deterministic: identical over 3 seeds")
    assert describe({"mean": 0.5, "std": 0.0, "n": 1}) == "0.500; 1 seed"
    assert describe({"mean": float("nan"), "std": float("nan"), "n": 0}) == "undefined"
