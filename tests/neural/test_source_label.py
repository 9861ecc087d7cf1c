"""Where a run's data came from, as metrics.json, the leaderboard and the report say it: only
a catalogued recording is called real; a file of the user's is called theirs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mtneuro.cli.neural import neural
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import data_source_label
from mtneuro.tasks.neural.task import source_of

YOURS = "recording x (your file)"


@pytest.fixture
def user_run(write_sleep, tmp_path):
    """The run folder of ``mtneuro neural`` on a synthetic rodent pair of the user's."""
    states = np.r_[np.full(100, 0), np.full(500, 1), np.full(100, 2), np.full(300, 1)]
    out = tmp_path / "run"
    res = CliRunner().invoke(neural, ["--data", write_sleep(states), "--method", "raw",
                                      "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def test_only_a_recording_of_the_catalogue_is_called_real(packaged_data, tmp_path):
    """By where its files sit and what they hold, not by its name: the packaged chewie-1 by
    name or by path is real; the same bytes saved as the user's own chewie-1.npz are not."""
    from mtneuro.data.neural import load_file, load_recording, recording_paths

    by_name = load_recording("chewie-1", root=packaged_data)
    (path,) = recording_paths("chewie-1", packaged_data)
    copy = tmp_path / "chewie-1.npz"
    copy.write_bytes(path.read_bytes())
    for rec, label in ((by_name, "real recording chewie-1"),
                       (load_file(path), f"real recording {path.stem}"),
                       (load_file(copy), "recording chewie-1 (your file)")):
        assert source_of(rec)["label"] == label
        assert data_source_label({"source": source_of(rec)}) == label


def test_a_catalogued_place_given_relative_is_still_checked(write_sleep, tmp_path,
                                                            monkeypatch):
    """The check follows the resolved path: from inside a root's neural/rodent folder, an
    edited file named as mouse-ca1's is refused as it is by its absolute path."""
    from mtneuro.data.neural import load_file
    from mtneuro.errors import ChecksumError

    folder = tmp_path / "root" / "neural" / "rodent"
    folder.mkdir(parents=True)
    np.save(folder / "fr_bins_n_4full.npy", np.ones((3, 5)))
    np.save(folder / "behav_states_n_4full.npy", np.array([0, 1, 2, 1, 0]))
    monkeypatch.chdir(folder)
    with pytest.raises(ChecksumError):
        load_file("fr_bins_n_4full.npy")


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
    assert ("a bootstrap 95% interval over the test samples (tiles, images, 8-slice blocks, "
            "trials, or blocks of sleep bins) of the first seed") in page


def test_the_card_compares_with_reference_runs_only_a_catalogued_recording(packaged_data,
                                                                           tmp_path,
                                                                           monkeypatch):
    """By name or by its file's place, not by how a user's file is named: a user's
    chewie-1.npz gets no Chewie reference lines, a reach file named mouse_* no sleep ones
    (whose split, 'block', a reach recording refuses)."""
    from mtneuro.data.neural import catalogued_name, recording_paths
    from mtneuro.tasks.neural.config import NeuralConfig
    from mtneuro.tasks.protocol import neural_card

    (path,) = recording_paths("chewie-1", packaged_data)
    monkeypatch.chdir(tmp_path)
    for name in ("chewie-1.npz", "mouse_reach.npz"):
        (tmp_path / name).write_bytes(path.read_bytes())
    assert [catalogued_name(s) for s in ("chewie-1", str(path), "chewie-1.npz")] == [
        "chewie-1", "chewie-1", None]
    for data in ("chewie-1.npz", "mouse_reach.npz", str(tmp_path / "chewie-1.npz")):
        card = neural_card(NeuralConfig(data=data, method="myow"))
        assert card["deviations"] == [f"recording {data}: no reference run"], data
    for data in ("chewie-1", str(path)):
        card = neural_card(NeuralConfig(data=data, method="myow"))
        assert f"recording {data}: no reference run" not in card["deviations"], data
