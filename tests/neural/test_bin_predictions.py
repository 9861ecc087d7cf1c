"""A neural run's predictions.csv: one row per test bin, whose hit columns average to the
run's accuracy and delta-accuracy."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.compare import compare
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


def test_compare_reads_each_runs_recorded_scores(reach_slice, tmp_path):
    """``mtneuro compare`` of two real runs: each side's value is its recorded score, and
    the difference's interval is over the test trials."""
    from mtneuro.report.compare import compare_runs

    recorded = {}
    for method in ("raw", "pca"):
        res = CliRunner().invoke(neural, ["--data", str(reach_slice), "--method", method,
                                          "--out", str(tmp_path / method)])
        assert res.exit_code == 0, res.output
        recorded[method] = json.loads((tmp_path / method / "metrics.json").read_text())["metrics"]
    result = compare_runs(tmp_path / "raw", tmp_path / "pca")
    assert result.unit == "test trials" and result.n == len(set(
        read_predictions(tmp_path / "raw")["trial"].tolist()))
    assert result.n < 5  # 40 trials: 4 test trials, too few for a 95% interval
    for row in result.rows:
        key = row["metric"]
        assert row["a"] == pytest.approx(recorded["raw"][key])
        assert row["b"] == pytest.approx(recorded["pca"][key])
        assert row["low"] is None and row["high"] is None
    printed = CliRunner().invoke(compare, [str(tmp_path / "raw"), str(tmp_path / "pca")]).output
    assert f"none: {result.n} units, fewer than 5" in printed


def test_compare_gives_an_interval_over_the_packaged_recordings_test_trials(packaged_data,
                                                                           tmp_path):
    from mtneuro.report.compare import compare_runs

    for method in ("raw", "pca"):
        res = CliRunner().invoke(neural, ["--data", "chewie-1", "--data-root", str(packaged_data),
                                          "--method", method, "--out", str(tmp_path / method)])
        assert res.exit_code == 0, res.output
    result = compare_runs(tmp_path / "raw", tmp_path / "pca")
    assert result.n == 16 and result.unit == "test trials"
    for row in result.rows:
        assert row["low"] <= row["difference"] <= row["high"]


def test_compare_of_two_sleep_runs_gives_each_recorded_weighted_f1(write_sleep, tmp_path):
    from mtneuro.report.compare import compare_runs

    path = write_sleep(np.r_[np.full(100, 0), np.full(500, 1), np.full(100, 2), np.full(300, 1)])
    recorded = {}
    for method in ("raw", "pca"):
        res = CliRunner().invoke(neural, ["--data", path, "--method", method,
                                          "--out", str(tmp_path / method)])
        assert res.exit_code == 0, res.output
        recorded[method] = json.loads((tmp_path / method / "metrics.json").read_text())["metrics"]
    rows = {row["metric"]: row for row in compare_runs(tmp_path / "raw", tmp_path / "pca").rows}
    assert set(rows) == {"accuracy", "f1_weighted"}
    for key, row in rows.items():
        assert (row["a"], row["b"]) == pytest.approx((recorded["raw"][key], recorded["pca"][key]))
