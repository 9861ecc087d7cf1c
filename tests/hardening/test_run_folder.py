"""Issue 17, defects 2 and 6: a run folder that holds a run is never overwritten by
accident, ``--resume`` needs something to resume, ``--out`` must be a writable folder.
Every refusal comes before any data is read and leaves the folder as it was."""

from __future__ import annotations

import pytest
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.errors import ConfigError

#: One cheap invocation of every command that writes a run (all stop before training).
COMMANDS = {
    "pretrain": ["pretrain", "--quick", "--epochs", "1"],
    "task1": ["task1", "--method", "supervised", "--quick"],
    "task2": ["task2", "--model", "unet", "--quick"],
    "task3": ["task3", "--method", "pca", "--quick"],
    "neural": ["neural", "--data", "chewie-1", "--method", "raw"],
    "bench": ["bench", "--suite", "quick"],
}
RECORD = {"pretrain": "checkpoint.pt", "task1": "metrics.json", "task2": "metrics.json",
          "task3": "metrics.json", "neural": "metrics.json", "bench": "cells"}
RESUMABLE = ("pretrain", "task2", "bench")


def _plant_run(out, command):
    """A folder holding a previous run (70 log lines, a checkpoint) that must survive."""
    out.mkdir()
    record = out / RECORD[command]
    if command == "bench":
        (record / "task1-x").mkdir(parents=True)
        (record / "task1-x" / "metrics.json").write_text("{}")
    else:
        record.write_bytes(b"previous run")
    if command == "task2":  # what its --resume continues from
        (out / "checkpoints").mkdir()
        (out / "checkpoints" / "seed0.pt").write_bytes(b"previous run")
    (out / "train_log.jsonl").write_text("{}\n" * 70)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_holding_a_run_is_refused_and_kept(tmp_path, command):
    out = tmp_path / "run"
    _plant_run(out, command)
    before = tree(tmp_path)
    outcome = invoke([*COMMANDS[command], "--out", str(out)], tmp_path)
    names = ("--overwrite", "--resume") if command in RESUMABLE else ("--overwrite",)
    assert_one_line_error(outcome, "already holds a run", *names)
    if command not in RESUMABLE:  # a command without --resume never suggests it
        assert "--resume" not in outcome.err
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", RESUMABLE)
def test_resume_with_nothing_to_resume_is_an_error(tmp_path, command):
    out = tmp_path / "empty"
    out.mkdir()
    outcome = invoke([*COMMANDS[command], "--resume", "--out", str(out)], tmp_path)
    assert_one_line_error(outcome, "--resume", "holds no run to resume")
    assert tree(tmp_path) == {"empty": -1}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_out_that_is_a_file_or_under_a_file_is_one_line(tmp_path, command):
    (tmp_path / "afile").write_text("x")
    for out in ("afile", "afile/sub"):
        outcome = invoke([*COMMANDS[command], "--out", out], tmp_path)
        assert_one_line_error(outcome, "afile")
    assert tree(tmp_path) == {"afile": 1}


def test_overwrite_removes_only_the_run_records(tmp_path):
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    _plant_run(out, "pretrain")
    (out / "notes.txt").write_text("mine")
    prepare_run_folder(out, "pretrain", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError, match="choose one"):
        prepare_run_folder(out, "pretrain", resume=True, overwrite=True)


def test_an_empty_seed_folder_of_an_interrupted_run_is_no_run(tmp_path):
    """A several-seed neural run stopped before its first seed ended leaves seed-0/ empty
    (nothing to lose, and neural has no --resume): the same command runs again."""
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    (out / "seed-0" / "plots").mkdir(parents=True)
    assert prepare_run_folder(out, "neural") == out
    (out / "seed-0" / "plots" / "confusion.png").write_bytes(b"png")
    with pytest.raises(ConfigError, match=r"already holds a run \(seed-0\); add --overwrite"):
        prepare_run_folder(out, "neural")


def test_overwrite_removes_both_encoders_of_a_neural_run(tmp_path):
    """A stale first-pass encoder must not sit beside a new run's encoder.pt."""
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    out.mkdir()
    for name in ("metrics.json", "encoder.pt", "encoder_first_pass.pt", "notes.txt"):
        (out / name).write_text("x")
    prepare_run_folder(out, "neural", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_overwrite_removes_every_record_of_a_suite_run(tmp_path):
    """Old summary charts must not sit beside a new report."""
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    _plant_run(out, "bench")
    (out / "report_figures").mkdir()
    (out / "report_figures" / "task1-roi-c1.png").write_bytes(b"png")
    for name in ("report.html", "leaderboard.md", "notes.txt"):
        (out / name).write_text("x")
    prepare_run_folder(out, "bench", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "train_log.jsonl"]


def test_dry_run_checks_the_folder_but_removes_nothing(tmp_path):
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    _plant_run(out, "bench")
    before = tree(tmp_path)
    prepare_run_folder(out, "bench", overwrite=True, dry_run=True)
    assert tree(tmp_path) == before


def test_unwritable_place_is_refused(tmp_path):
    from mtneuro.cli.run_folder import prepare_run_folder

    # root may write anywhere on disk, but nobody writes in /proc
    with pytest.raises(ConfigError, match="cannot write in /proc"):
        prepare_run_folder("/proc/mtneuro-run", "task")


def test_a_run_stopped_before_its_first_checkpoint_can_be_replaced(tmp_path):
    from mtneuro.cli.run_folder import prepare_run_folder

    out = tmp_path / "run"
    out.mkdir()
    (out / "train_log.jsonl").write_text("{}\n")  # no checkpoint.pt yet
    with pytest.raises(ConfigError, match="add --overwrite to start afresh"):
        prepare_run_folder(out, "pretrain", resume=True)
    (tmp_path / "suite" / "cells" / "task1-x").mkdir(parents=True)  # no cell ended
    assert prepare_run_folder(tmp_path / "suite", "bench", resume=True) == tmp_path / "suite"


@pytest.mark.parametrize("kind", ["task", "resumable-task", "neural"])
def test_overwrite_removes_the_report_of_the_run_it_replaces(tmp_path, kind):
    from mtneuro.cli.run_folder import prepare_run_folder, run_records

    out = tmp_path / "run"
    (out / "report_figures").mkdir(parents=True)
    for name in ("metrics.json", "report.html", "leaderboard.md", "report_figures/t.png"):
        (out / name).write_text("previous run")
    (out / "notes.txt").write_text("the user's")
    assert [p.name for p in run_records(out, kind)] == [
        "leaderboard.md", "metrics.json", "report.html", "report_figures"]
    prepare_run_folder(out, kind, overwrite=True)
    assert tree(tmp_path) == {"run": -1, "run/notes.txt": len("the user's")}
