"""benchmarks/neural_paired.py: paired differences of two methods on the same test bins."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "neural_paired.py"
spec = importlib.util.spec_from_file_location("neural_paired", SCRIPT)
paired = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paired)

TRIAL = np.repeat(np.arange(20), 5)  # 20 trials of 5 bins
LABEL = np.tile(np.arange(5), 20)


def run(seed: int, hits: np.ndarray) -> dict:
    return {"seed": seed, "trial": TRIAL, "label": LABEL, "accuracy": hits.astype(bool),
            "delta_accuracy": np.ones_like(hits, dtype=bool), "wall_s": np.float64(1.0)}


def test_difference_is_the_seed_averaged_per_bin_difference():
    first = np.zeros(100, bool)
    first[:60] = True  # seed 0 right on 60 bins (trials 0-11)
    second = np.zeros(100, bool)
    second[:40] = True  # seed 1 right on 40 (trials 0-7): the method's mean is 0.5
    other = np.zeros(100, bool)
    other[:30] = True  # 0.3 with both seeds
    c = paired.compare([run(0, first), run(1, second)], [run(0, other), run(1, other)], "accuracy")
    assert c["mean"] == pytest.approx(0.2)
    assert c["per_seed"] == pytest.approx([0.3, 0.1])
    assert c["trials"] == 20 and c["bins"] == 100
    assert c["low"] < 0.2 < c["high"]
    assert paired.verdict(c["low"], c["high"]).startswith("above")  # no trial favours "other"
    same = paired.compare([run(0, other)], [run(0, other)], "delta_accuracy")
    assert same["mean"] == same["low"] == same["high"] == 0.0
    assert paired.verdict(same["low"], same["high"]).startswith("not told apart")


def test_runs_scored_on_other_bins_are_refused():
    moved = dict(run(0, np.ones(100, bool)), trial=TRIAL[::-1].copy())
    with pytest.raises(SystemExit, match="same test bins"):
        paired.compare([run(0, np.ones(100, bool))], [moved], "accuracy")


def test_saved_runs_load_by_recording_and_method(tmp_path):
    for method, seed in (("myow", 1), ("myow", 0), ("raw", 0)):
        hits = np.arange(100) % (seed + 2) == 0
        path = paired.run_path(tmp_path, "chewie-1-bin0.05", method, seed, "kfold")
        np.savez(path, **{k: v for k, v in run(seed, hits).items() if k != "seed"})
    runs = paired.load_runs(tmp_path, "kfold")
    assert sorted(runs) == [("chewie-1-bin0.05", "myow"), ("chewie-1-bin0.05", "raw")]
    assert [r["seed"] for r in runs[("chewie-1-bin0.05", "myow")]] == [0, 1]
    second_seed = runs[("chewie-1-bin0.05", "myow")][1]
    assert second_seed["accuracy"].mean() == pytest.approx(1 / 3, abs=0.01)
