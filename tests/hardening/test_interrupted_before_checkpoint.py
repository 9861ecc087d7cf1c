"""A pre-training interrupted before its first checkpoint says "rerun the same command": that
rerun must then start, not fail on the ``train_log.jsonl`` the stopped run left (first-hour
audit); under ``--overwrite`` the replaced run comes back whole, and the command says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_probe import invoke, tree

from mtneuro import checkpoint_io
from mtneuro.cli.run_folder import prepare_run_folder, run_folder
from mtneuro.tasks.pretrain import run as pretrain_run


@pytest.fixture
def stopped_at_step_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_pretrain`` that logs three steps, then meets Ctrl-C (no checkpoint yet)."""
    monkeypatch.setattr(checkpoint_io, "_SAVED", [])  # no checkpoint of an earlier test

    def stopped(config) -> None:
        (Path(config.out_dir) / "train_log.jsonl").write_text('{"step": 0}\n' * 3,
                                                              encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain_run, "run_pretrain", stopped)


def test_the_rerun_the_interruption_offers_is_not_refused(tmp_path, stopped_at_step_3):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("the user's", encoding="utf-8")
    outcome = invoke(["pretrain", "--quick", "--quiet", "--out", "run"], tmp_path)
    assert outcome.code == 130
    assert outcome.err_lines == [(
        "interrupted before its first checkpoint, so there is nothing to resume and what it "
        "wrote in OUT is removed; rerun the same command to start again")]
    assert tree(tmp_path / "run") == {"notes.txt": 10}
    prepare_run_folder(tmp_path / "run", "pretrain", dry_run=True)  # the rerun: not refused


def test_an_interrupted_overwrite_puts_the_replaced_run_back_and_says_so(tmp_path,
                                                                       stopped_at_step_3):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.pt", "encoder.pt", "metrics.json", "train_log.jsonl"):
        (out / name).write_bytes(b"old " + name.encode())
    before = tree(out)
    outcome = invoke(["pretrain", "--quick", "--quiet", "--out", "run", "--overwrite"], tmp_path)
    assert outcome.code == 130
    assert outcome.err_lines[0] == (f"note: the run --overwrite replaced is back in {Path('run')}, "
                                    "as it was; what this run wrote there is removed")
    assert tree(out) == before
    assert (out / "train_log.jsonl").read_bytes() == b"old train_log.jsonl"


@pytest.mark.parametrize(("stop", "kept"), [
    (RuntimeError, {"train_log.jsonl"}),  # an error: the log says how the run failed
    (KeyboardInterrupt, {"train_log.jsonl", "checkpoint.pt"}),  # a checkpoint to resume
])
def test_an_error_or_a_checkpoint_keeps_what_the_run_wrote(tmp_path, stop, kept):
    out = tmp_path / "run"
    with pytest.raises(stop), run_folder(out, "pretrain"):
        for name in kept:
            (out / name).write_bytes(b"new")
        raise stop
    assert {p.name for p in out.iterdir()} == kept


def test_a_neural_run_interrupted_keeps_its_finished_seeds(tmp_path):
    """No checkpoints, but finished seeds: the interruption's line says to add --overwrite."""
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), run_folder(out, "neural"):
        (out / "seed-0").mkdir()
        (out / "seed-0" / "metrics.json").write_text("{}", encoding="utf-8")
        raise KeyboardInterrupt
    assert (out / "seed-0" / "metrics.json").is_file()
