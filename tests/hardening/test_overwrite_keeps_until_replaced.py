"""``--overwrite`` loses nothing until the new run ends well: a command that fails (on its
input, diverging, interrupted) puts the replaced run back, or keeps it aside beside a new
checkpoint to resume; one that succeeds replaces it, figures its ``metrics.json`` listed
included (walkthrough 22, F2/G3; walkthrough H, B1: a record of the failed run was enough to
drop the finished one)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.cli.run_folder import REPLACED, prepare_run_folder, run_folder
from mtneuro.errors import ConfigError


def _finished_run(out, figures=("confusion.png", "learning_curve.png")):
    """A finished run: its record lists two figures; a file of the user's sits beside it."""
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps({"task": "neural", "figures": list(figures)}))
    for name in figures:
        if ".." not in name:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(b"old figure " + name.encode())
    (out / "encoder.pt").write_bytes(b"old encoder")
    (out / "notes.txt").write_text("the user's")


def test_a_block_that_fails_before_writing_a_record_puts_the_replaced_run_back(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), run_folder(out, "neural", overwrite=True):
        assert sorted(p.name for p in out.iterdir()) == [REPLACED, "notes.txt"]
        (out / "confusion.png").write_bytes(b"half")  # a figure of the failing run
        raise RuntimeError("unreadable recording")
    assert tree(tmp_path) == before
    assert (out / "confusion.png").read_bytes() == b"old figure confusion.png"


def test_a_block_that_fails_after_its_records_but_left_nothing_to_resume_puts_it_back(tmp_path):
    """Neural keeps no checkpoints: a run interrupted after one seed is no run to continue, and
    the finished run it replaced comes back (it was dropped as soon as a record appeared)."""
    out = tmp_path / "run"
    _finished_run(out)
    before = tree(tmp_path)
    with pytest.raises(KeyboardInterrupt), run_folder(out, "neural", overwrite=True):
        (out / "seed-0").mkdir()
        (out / "seed-0" / "metrics.json").write_text("{}")  # one seed finished
        (out / "encoder.pt").write_bytes(b"new encoder")
        raise KeyboardInterrupt
    assert tree(tmp_path) == before
    assert (out / "encoder.pt").read_bytes() == b"old encoder"


def _finished_pretraining(out):
    out.mkdir(parents=True)
    for name in ("checkpoint.pt", "encoder.pt", "metrics.json", "train_log.jsonl"):
        (out / name).write_bytes(b"old " + name.encode())


def test_a_failed_run_that_left_a_checkpoint_keeps_both_runs(tmp_path, capsys):
    """Pretraining that diverged after a checkpoint: the checkpoint stays for --resume and the
    finished run it replaced stays aside, said; it goes once a run there ends well."""
    out = tmp_path / "run"
    _finished_pretraining(out)
    old = tree(tmp_path)
    with pytest.raises(RuntimeError), run_folder(out, "pretrain", overwrite=True):
        (out / "checkpoint.pt").write_bytes(b"new checkpoint of epoch 4")
        (out / "train_log.jsonl").write_bytes(b"new log")
        raise RuntimeError("non-finite loss at epoch 6")
    assert (out / "checkpoint.pt").read_bytes() == b"new checkpoint of epoch 4"
    assert {f"run/{REPLACED}/{k[4:]}": v for k, v in old.items() if k != "run"} == {
        k: v for k, v in tree(tmp_path).items()
        if k.startswith(f"run/{REPLACED}/") and not k.endswith("/.kind")}
    assert "note: the run --overwrite replaced is kept in" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"add --resume to continue it.*\(the run --overwrite "
                                          r"replaced is kept in .*\.replaced-run"):
        prepare_run_folder(out, "pretrain")
    with run_folder(out, "pretrain", resume=True):  # the new run resumed and ended well
        (out / "metrics.json").write_bytes(b"new metrics")
    assert not (out / REPLACED).exists()
    assert (out / "checkpoint.pt").read_bytes() == b"new checkpoint of epoch 4"


def test_overwriting_an_unfinished_run_keeps_the_finished_one_aside(tmp_path):
    """Beside a run kept aside, ``--overwrite`` replaces the unfinished run in place; if that
    one fails before any record, the finished run comes back."""
    out = tmp_path / "run"
    _finished_pretraining(out)
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), run_folder(out, "pretrain", overwrite=True):
        (out / "checkpoint.pt").write_bytes(b"unfinished")
        raise RuntimeError("diverged")
    with pytest.raises(RuntimeError), run_folder(out, "pretrain", overwrite=True):
        assert not (out / "checkpoint.pt").exists() and (out / REPLACED).is_dir()
        raise RuntimeError("unreadable volume")
    assert tree(tmp_path) == before


def test_pretrain_overwrite_that_diverges_before_a_checkpoint_keeps_the_earlier_run(tmp_path):
    """Walkthrough H, B1: ``--config huge.yaml --overwrite`` stopped at step 2 and left only its
    two-line train_log.jsonl in place of the finished run."""
    out = tmp_path / "run"
    _finished_pretraining(out)
    before = tree(out)
    (tmp_path / "huge.yaml").write_text("base_lr: 1.0e30\n")
    outcome = invoke(["pretrain", "--quick", "--epochs", "2", "--config",
                      str(tmp_path / "huge.yaml"), "--out", str(out), "--overwrite"], tmp_path)
    assert outcome.code != 0 and "non-finite" in outcome.err, outcome.err
    assert tree(out) == before


def test_a_run_that_succeeds_replaces_the_records_and_the_figures_they_listed(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    (out / "mine.png").write_bytes(b"a figure of the user's, listed by no record")
    with run_folder(out, "neural", overwrite=True):
        (out / "metrics.json").write_text(json.dumps({"figures": ["confusion.png"]}))
        (out / "confusion.png").write_bytes(b"new")
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.png", "metrics.json", "mine.png", "notes.txt"]
    assert (out / "confusion.png").read_bytes() == b"new"  # learning_curve.png went


def test_a_listed_figure_outside_the_folder_is_never_touched(tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"not the run's")
    out = tmp_path / "run"
    _finished_run(out, figures=("../elsewhere.png", "confusion.png"))
    prepare_run_folder(out, "neural", overwrite=True)
    assert outside.read_bytes() == b"not the run's"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_records_set_aside_by_a_killed_run_come_back_or_go_on_the_next_start(tmp_path):
    """A run killed (SIGKILL) inside the block settles nothing; the next command does: the
    set-aside run comes back if the killed one wrote no record, else it goes."""
    out = tmp_path / "run"
    _finished_run(out)
    before = tree(tmp_path)
    prepare_run_folder(out, "neural", overwrite=True, set_aside=True)  # then killed
    assert (out / REPLACED / "metrics.json").is_file()
    with pytest.raises(Exception, match="already holds a run"):
        prepare_run_folder(out, "neural")
    assert tree(tmp_path) == before

    prepare_run_folder(out, "neural", overwrite=True, set_aside=True)
    (out / "metrics.json").write_text("{}")  # the killed run had finished its record
    prepare_run_folder(out, "neural", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_neural_overwrite_with_an_unreadable_recording_keeps_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    bad = tmp_path / "nan_rates.npz"
    rates = np.ones((8, 3))
    rates[2, 1] = np.nan
    np.savez(bad, firing_rates=rates, trial=np.repeat([0, 1], 4), label=np.repeat([0, 1], 4))
    before = tree(out)
    outcome = invoke(["neural", "--data", str(bad), "--method", "raw", "--out", str(out),
                      "--overwrite"], tmp_path)
    assert_one_line_error(outcome, "nan_rates.npz: firing_rates", "NaN")
    assert tree(out) == before


def test_pretrain_overwrite_with_an_unreadable_volume_keeps_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.pt", "encoder.pt", "metrics.json", "train_log.jsonl"):
        (out / name).write_bytes(b"previous run")
    bad = tmp_path / "volume.npy"
    bad.write_bytes(b"not a numpy file")
    before = tree(out)
    outcome = invoke(["pretrain", "--quick", "--source", "volume", "--source-param",
                      f"path={bad}", "--out", str(out), "--overwrite"], tmp_path)
    assert outcome.code == 2 and "volume.npy" in outcome.err, outcome.err
    assert tree(out) == before


def test_a_write_killed_half_way_is_no_record_of_the_new_run(tmp_path):
    """A task-2 run killed while writing its first checkpoint leaves a torn temporary file:
    the replaced run comes back, and the torn file goes."""
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "metrics.json").write_text("{}")
    (out / "checkpoints" / "seed0.pt").write_bytes(b"old checkpoint")
    before = tree(tmp_path)
    prepare_run_folder(out, "resumable-task", overwrite=True, set_aside=True)  # then killed
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / ".seed0.pt.abcd1234.tmp").write_bytes(b"torn")
    with pytest.raises(Exception, match="already holds a run"):
        prepare_run_folder(out, "resumable-task")
    assert tree(tmp_path) == before


def test_listed_figures_twice_inside_a_record_or_as_a_record_are_set_aside_once(tmp_path):
    out = tmp_path / "run"
    _finished_run(out, figures=("confusion.png", "confusion.png", "./confusion.png",
                                "seed-0/confusion.png", "report.html"))
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), run_folder(out, "neural", overwrite=True):
        assert sorted(p.name for p in out.iterdir()) == [REPLACED, "notes.txt"]
        raise RuntimeError
    assert tree(tmp_path) == before


def test_a_figure_listed_by_a_record_the_command_does_not_replace_stays(tmp_path):
    """A task run's metrics.json beside a bench's report: --overwrite of the bench removes
    its report only, not the task's figures."""
    out = tmp_path / "run"
    _finished_run(out)
    (out / "report.html").write_text("a suite's report")
    prepare_run_folder(out, "bench", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.png", "encoder.pt", "learning_curve.png", "metrics.json", "notes.txt"]


def test_a_linked_record_folder_comes_back_as_the_link(tmp_path):
    elsewhere = tmp_path / "scratch"
    elsewhere.mkdir()
    (elsewhere / "seed0.pt").write_bytes(b"on scratch")
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / "checkpoints").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(RuntimeError), run_folder(out, "resumable-task", overwrite=True):
        raise RuntimeError
    assert (out / "checkpoints").is_symlink() and (out / "checkpoints" / "seed0.pt").is_file()


def test_figures_listed_through_dot_dot_or_absolute_come_back_to_their_place(tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    _finished_run(out, figures=("../run/confusion.png", str(out / "learning_curve.png")))
    for name in ("confusion.png", "learning_curve.png"):
        (out / name).write_bytes(b"old " + name.encode())
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), run_folder("run", "neural", overwrite=True):
        assert sorted(p.name for p in out.iterdir()) == [REPLACED, "notes.txt"]
        raise RuntimeError
    assert tree(tmp_path) == before


def test_a_set_aside_cut_short_is_put_back_by_the_next_command(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    before = tree(tmp_path)
    staging = out / ".replaced-run.partial"  # killed while moving: metrics.json moved only
    staging.mkdir()
    (out / "metrics.json").rename(staging / "metrics.json")
    with pytest.raises(Exception, match="already holds a run"):
        prepare_run_folder(out, "neural")
    assert tree(tmp_path) == before


def test_a_command_of_another_kind_leaves_a_kept_aside_run_alone(tmp_path, capsys):
    """Review W: a task command in a folder where a pretrain --overwrite had kept the old run
    aside settled it by its own records: it put the old run back over the new checkpoint."""
    out = tmp_path / "run"
    _finished_pretraining(out)
    with pytest.raises(RuntimeError), run_folder(out, "pretrain", overwrite=True):
        (out / "checkpoint.pt").write_bytes(b"new checkpoint")
        raise RuntimeError("diverged")
    kept = tree(tmp_path)
    capsys.readouterr()
    with pytest.raises(RuntimeError), run_folder(out, "task"):  # it replaced nothing: no note
        raise RuntimeError("unreadable")
    assert capsys.readouterr().err == "" and tree(tmp_path) == kept
    with run_folder(out, "task"):  # a task run there (its records are not pretrain's) ends well
        (out / "metrics.json").write_text(json.dumps({"task": "task1"}))
    after = {k: v for k, v in tree(tmp_path).items() if k != "run/metrics.json"}
    assert after == kept and (out / "checkpoint.pt").read_bytes() == b"new checkpoint"
    with pytest.raises(ConfigError, match=r"holds the run a pretrain command's --overwrite "
                                          r"replaced; move it elsewhere"):
        prepare_run_folder(out, "task", overwrite=True, set_aside=True)
    with run_folder(out, "pretrain", resume=True):  # pretrain's own run ends well: it goes
        pass
    assert not (out / REPLACED).exists()
