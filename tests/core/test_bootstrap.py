"""Bootstrap 95% intervals over test samples (mtneuro.stats), on cases with known answers."""

import numpy as np
import pytest

from mtneuro.stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    _resample_counts,
    bootstrap_interval,
    classification_intervals,
    first_seed_intervals,
    mean_interval,
    r2_interval,
    seeds_agree,
)


def _loop_interval(score, n):
    """The 95% percentile interval by a plain loop: score each resample (the sample indices
    drawn by the module's own resample counts) one by one."""
    counts = _resample_counts(n, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).astype(int)
    draws = np.array([score(np.repeat(np.arange(n), row)) for row in counts], dtype=float)
    return np.nanpercentile(draws, [2.5, 97.5], axis=0)


def _noisy_labels(n, weights, seed):
    """Truth drawn with class ``weights`` and a prediction right 60 % of the time, else biased
    to class 0 (so recall and precision differ)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(weights), n, p=weights)
    wrong = np.where(rng.random(n) < 0.5, 0, rng.integers(0, len(weights), n))
    return truth, np.where(rng.random(n) < 0.6, truth, wrong)


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
    """Across a cleared cache too (the resample counts are cached, which alone would make two
    calls agree), and equal to a mean over resamples drawn afresh with the fixed seed."""
    values = np.random.default_rng(3).random(200)
    first = mean_interval(values, unit="x")
    _resample_counts.cache_clear()
    assert mean_interval(values, unit="x") == first
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    fresh = rng.multinomial(200, np.full(200, 1 / 200), size=BOOTSTRAP_RESAMPLES) @ values / 200
    assert [first["low"], first["high"]] == pytest.approx(np.percentile(fresh, [2.5, 97.5]))
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


def test_per_class_accuracy_is_recall_on_each_resample():
    """Recall (row sums of the confusion matrix), not precision: the two differ here."""
    from sklearn.metrics import precision_score, recall_score

    truth, pred = _noisy_labels(120, [0.3, 0.4, 0.3], seed=5)
    assert not np.allclose(recall_score(truth, pred, average=None),
                           precision_score(truth, pred, average=None), atol=0.05)
    out = classification_intervals(truth, pred, 3, unit="trials")["per_class_accuracy"]
    low, high = _loop_interval(lambda i: recall_score(truth[i], pred[i], labels=[0, 1, 2],
                                                      average=None, zero_division=np.nan), 120)
    assert out["low"] == pytest.approx(low) and out["high"] == pytest.approx(high)


@pytest.mark.parametrize("name,average", [("f1_weighted", "weighted"), ("avg_f1", "macro"),
                                          ("accuracy", None)])
def test_classification_intervals_match_sklearn_on_each_resample(name, average):
    """Each resample scored by scikit-learn (macro: over the classes present or predicted);
    4 classes, the last one rare, so that leaving a class out of the macro F1 or weighting F1
    by predicted counts moves the interval."""
    from sklearn.metrics import accuracy_score, f1_score

    truth, pred = _noisy_labels(150, [0.3, 0.3, 0.3, 0.1], seed=7)
    out = classification_intervals(truth, pred, 4, unit="trials")[name]
    if average is None:
        score = lambda i: accuracy_score(truth[i], pred[i])
    else:
        score = lambda i: f1_score(truth[i], pred[i], average=average, zero_division=0)
    low, high = _loop_interval(score, 150)
    assert out["low"] == pytest.approx(low) and out["high"] == pytest.approx(high)


def test_r2_interval_matches_sklearn_on_each_resample():
    from sklearn.metrics import r2_score

    y = np.random.default_rng(0).normal(size=(80, 2))
    noisy = y + np.random.default_rng(1).normal(scale=0.7, size=y.shape)
    out = r2_interval(y, noisy, unit="crops")
    low, high = _loop_interval(lambda i: r2_score(y[i], noisy[i], multioutput="raw_values"), 80)
    assert out["low"] == pytest.approx(low) and out["high"] == pytest.approx(high)


def test_r2_interval_of_a_perfect_fit_and_a_noisy_one():
    y = np.random.default_rng(0).normal(size=(300, 2))
    perfect = r2_interval(y, y, unit="crops")
    assert perfect["low"] == pytest.approx([1.0, 1.0])
    assert perfect["high"] == pytest.approx([1.0, 1.0])
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
    ratio = (by_tile["high"] - by_tile["low"]) / (naive["high"] - naive["low"])
    assert ratio == pytest.approx(2, rel=0.2)


def test_describe_never_prints_a_zero_std():
    from mtneuro.stats import describe

    interval = {"low": 0.8, "high": 0.86, "n": 120, "unit": "test tiles"}
    assert describe({"mean": 0.812, "std": 0.02, "n": 3}, interval) == "0.812 ± 0.020 over 3 seeds"
    assert describe({"mean": 0.829, "std": 0.0, "n": 3}, interval) == (
        "0.829 [0.800, 0.860] 95% CI over 120 test tiles; deterministic: identical over 3 seeds")
    assert describe({"mean": 0.5, "std": 0.0, "n": 1}) == "0.500; 1 seed"
    assert describe({"mean": float("nan"), "std": float("nan"), "n": 0}) == "undefined"


def test_one_test_group_has_no_interval_and_says_so():
    """With one test trial every resample is that trial: [x, x] would read as certainty."""
    from mtneuro.stats import describe, describe_row

    one = mean_interval([1.0, 0.0], unit="test trials", groups=[7, 7])
    assert (one["low"], one["high"], one["n"]) == (None, None, 1)
    per_class = mean_interval([[1.0, 0.0]], unit="test tiles")
    assert per_class["low"] == [None, None] and per_class["high"] == [None, None]
    assert describe({"mean": 0.5, "std": 0.0, "n": 1}, one) == (
        "0.500 no 95% CI, from 1 test trials; 1 seed")
    assert describe_row([("accuracy", {"mean": 0.5, "n": 1}, one),
                         ("delta_accuracy", {"mean": 1.0, "n": 1}, one)]) == (
        "accuracy 0.500, delta_accuracy 1.000 (no 95% CI, from 1 test trials; 1 seed)")
    # a few trials have a spread, but too few resamples for a 95% interval (2 trials: 3)
    two = mean_interval([1.0, 0.0], unit="test trials", groups=[7, 8])
    assert (two["low"], two["high"], two["n"]) == (None, None, 2)
    assert describe({"mean": 0.5, "std": 0.0, "n": 1}, two) == (
        "0.500 no 95% CI, from 2 test trials (fewer than 5); 1 seed")
    five = mean_interval([1.0, 0.0, 1.0, 0.0, 1.0], unit="test trials")
    assert five["n"] == 5 and 0.0 <= five["low"] < five["high"] <= 1.0
