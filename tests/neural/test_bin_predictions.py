"""A neural run's predictions.csv: one row per test bin, whose hit columns average to the
run's accuracy and delta-accuracy."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.neural import neural
from mtneuro.data.neural import load_recording
from mtneuro.report.predictions import PREDICTIONS_FILE, read_predictions


def test_a_neural_run_writes_its_bins_and_the_record_names_the_file(reach_slice, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", "raw",
                                      "--out", str(out)])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "metrics.json").read_text())
    assert record["predictions"] == PREDICTIONS_FILE
    rows = read_predictions(out)
    metrics = record["metrics"]
    assert len(rows["bin"]) == metrics["n_test"]
    assert rows["accuracy"].mean() == pytest.approx(metrics["accuracy"])
    assert rows["delta_accuracy"].mean() == pytest.approx(metrics["delta_accuracy"])
    rec = load_recording(str(reach_slice))
    names = np.asarray(rec.class_names)
    assert rows["true"].tolist() == names[rec.label[rows["bin"]]].tolist()
    assert rows["trial"].tolist() == rec.trial[rows["bin"]].tolist()
    # a bin is a hit when its predicted direction is its own
    assert np.array_equal(rows["accuracy"] == 1, rows["true"] == rows["predicted"])


def test_a_sleep_run_writes_each_test_bins_state(write_sleep, tmp_path):
    states = np.r_[np.full(100, 0), np.full(500, 1), np.full(100, 2), np.full(300, 1)]
    out = tmp_path / "sleep"
    res = CliRunner().invoke(neural, ["--data", write_sleep(states), "--method", "raw",
                                      "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = read_predictions(out)
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert rows["accuracy"].mean() == pytest.approx(metrics["accuracy"])
    names = np.asarray(["wake", "nREM", "REM"])
    assert rows["true"].tolist() == names[states[rows["bin"]]].tolist()
    assert "delta_accuracy" not in rows
