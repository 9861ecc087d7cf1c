"""The chance reference of every neural run: the scores of always predicting the most common
training class, on recordings whose answer is counted by hand."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.neural import _summary, neural
from mtneuro.data.neural import REACH_CLASSES, NeuralRecording
from mtneuro.tasks.neural import NeuralConfig, fit_neural
from mtneuro.tasks.neural.splits import trial_kfold

#: 1,000 bins: the block split trains on the first 560 - guard bins (mostly nREM, some wake
#: and REM), validates up to bin 800 and tests on the last 200: 140 nREM then 60 wake.
SLEEP_STATES = np.r_[np.full(60, 0), np.full(400, 1), np.full(100, 2), np.full(240, 1),
                     np.full(140, 1), np.full(60, 0)]


def reach_recording(bins_per_trial, labels):
    """A reach recording of one trial per label, with that many bins, random rates."""
    trial = np.repeat(np.arange(len(labels)), bins_per_trial)
    n = trial.size
    return NeuralRecording(
        name="hand", kind="reach",
        rates=np.random.default_rng(0).random((n, 4)).astype(np.float32), trial=trial,
        timestep=np.zeros(n, dtype=np.int64), label=np.repeat(labels, bins_per_trial),
        bin_s=0.1, class_names=REACH_CLASSES)


def test_sleep_test_bins_seventy_percent_of_the_training_majority(write_sleep):
    out = fit_neural(NeuralConfig(data=write_sleep(SLEEP_STATES), method="raw", split="block"))
    majority = out.metrics["majority"]
    assert majority["class"] == "nREM"
    assert majority["accuracy"] == 0.7  # 140 of the 200 test bins are nREM
    # nREM: precision 140/200, recall 1, F1 = 280/340; wake: F1 0; weighted by support 140/200
    assert majority["f1_weighted"] == pytest.approx(0.7 * 280 / 340)
    assert set(majority) == {"class", "accuracy", "f1_weighted"}  # the sleep score keys
    assert _summary(out.metrics).endswith(
        "; always the most common training class (nREM): accuracy 0.700, f1_weighted 0.576")


def test_reach_majority_direction_counted_by_hand(tmp_path):
    # 40 trials: 0-31 train (18 of 90°, 14 of 225°, 2 bins each), 32-35 validate, 36-39 test:
    # 3 bins of 90°, 2 of 135°, 4 of 45°, 1 of 90°
    labels = np.r_[np.full(18, 2), np.full(14, 5), np.full(4, 0), [2, 3, 1, 2]]
    rec = reach_recording(np.r_[np.full(36, 2), [3, 2, 4, 1]], labels)
    path = tmp_path / "hand-bin0.10.npz"
    np.savez(path, firing_rates=rec.rates, trial=rec.trial, label=rec.label)
    majority = fit_neural(NeuralConfig(data=str(path), method="raw")).metrics["majority"]
    # 4 of 10 test bins are 90°; 45° and 135° are pi/4 away, beyond delta's 3 pi/16
    assert majority == {"class": "90°", "accuracy": 0.4, "delta_accuracy": 0.4}


def test_kfold_pools_each_fold_majority_over_the_test_bins():
    from mtneuro.tasks.neural.majority import majority_baseline

    # 9 trials of one bin, 3 folds: fold f tests group f, validates on f + 1, trains on f + 2
    rec = reach_recording(np.ones(9, dtype=int), np.array([1, 1, 6, 4, 4, 4, 6, 6, 1]))
    folds = [trial_kfold(rec.trial, 3, f) for f in range(3)]
    majority = majority_baseline(rec, folds)
    # fold 0 predicts 270° (6, 6, 1): 1 hit in (1, 1, 6); fold 1 predicts 45° (1, 1, 6): none in
    # (4, 4, 4); fold 2 predicts 180° (4, 4, 4): none in (6, 6, 1)
    assert majority["class"] == "per fold: 270°, 45°, 180°"
    assert majority["accuracy"] == pytest.approx(1 / 9)
    assert majority["delta_accuracy"] == pytest.approx(1 / 9)


def test_a_tie_goes_to_the_smallest_label():
    from mtneuro.tasks.neural.majority import majority_class

    assert majority_class(np.array([2, 2, 0, 0, 1])) == 0


def test_seeds_of_a_random_split_average_their_baselines():
    from mtneuro.tasks.neural.majority import aggregate_majority

    rows = [{"majority": {"class": "nREM", "accuracy": 0.5, "f1_weighted": 0.3}},
            {"majority": {"class": "wake", "accuracy": 0.7, "f1_weighted": 0.3}}]
    majority = aggregate_majority(rows)
    assert majority["accuracy"] == pytest.approx(0.6)
    assert majority["accuracy_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert majority["f1_weighted"] == 0.3 and majority["f1_weighted_std"] == 0.0
    assert majority["class"] == "per seed: nREM, wake"
    # the same baseline for every seed is stated once
    assert aggregate_majority([rows[0], rows[0]]) == rows[0]["majority"]


def test_cli_prints_and_records_the_baseline_of_several_seeds(write_sleep, tmp_path):
    path = write_sleep(SLEEP_STATES)
    out = tmp_path / "run"
    res = CliRunner().invoke(neural, ["--data", str(path), "--method", "raw", "--split", "random",
                                      "--seeds", "0", "1", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    per_seed = [row["majority"] for row in metrics["per_seed"]]
    assert per_seed[0] != per_seed[1]  # the random split follows the seed
    accuracies = [m["accuracy"] for m in per_seed]
    mean, std = np.mean(accuracies), np.std(accuracies, ddof=1)
    assert metrics["majority"]["accuracy"] == pytest.approx(mean)
    assert metrics["majority"]["accuracy_std"] == pytest.approx(std)
    summary = [line for line in res.output.splitlines() if "over 2 seeds" in line][-1]
    assert (f"; always the most common training class (nREM): accuracy {mean:.3f} ± {std:.3f} "
            "over 2 seeds") in summary
