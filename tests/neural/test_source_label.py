"""Where a run's data came from, as metrics.json, the leaderboard and the report say it: only
a catalogued recording is called real; a file of the user's is called theirs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.neural import neural
from mtneuro.data.neural import REACH_CLASSES, NeuralRecording
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import data_source_label
from mtneuro.tasks.neural.task import source_of

YOURS = "recording x_fr_bins_n_4full (your file)"


@pytest.fixture
def user_run(write_sleep, tmp_path):
    """The run folder of ``mtneuro neural`` on a synthetic rodent pair of the user's."""
    states = np.r_[np.full(100, 0), np.full(500, 1), np.full(100, 2), np.full(300, 1)]
    out = tmp_path / "run"
    res = CliRunner().invoke(neural, ["--data", write_sleep(states), "--method", "raw",
                                      "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def recording(name):
    return NeuralRecording(name=name, kind="reach", rates=np.ones((2, 1), np.float32),
                           trial=np.zeros(2, np.int64), timestep=np.arange(2),
                           label=np.zeros(2, np.int64), bin_s=0.1, class_names=REACH_CLASSES)


def test_only_a_catalogued_recording_is_called_real():
    for name, label in (("chewie-1", "real recording chewie-1"),
                        ("mouse-ca1", "real recording mouse-ca1"),
                        ("chewie-slice", "recording chewie-slice (your file)")):
        assert source_of(recording(name))["label"] == label
        assert data_source_label({"source": source_of(recording(name))}) == label


def test_a_users_file_is_not_called_real_in_the_record_or_the_report(user_run):
    record = json.loads((user_run / "metrics.json").read_text())
    assert record["source"]["label"] == YOURS
    page = build_report(user_run)["html"].read_text()
    banner = page.split("<div class=banner>")[1].split("</div>")[0]
    assert f"Data sources of our rows:</b> {YOURS}." in banner
    assert "real recording" not in page


def test_the_report_names_sleep_blocks_as_what_its_intervals_resample(user_run):
    record = json.loads((user_run / "metrics.json").read_text())
    assert record["metrics"]["intervals"]["accuracy"]["unit"].startswith("test blocks of")
    page = build_report(user_run)["html"].read_text()
    assert ("a bootstrap 95% interval over the test samples (tiles, images, trials, or blocks "
            "of sleep bins) of the first seed") in page
