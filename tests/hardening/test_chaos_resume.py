"""Chaos: what an interrupted run leaves behind, and what --resume makes of it.

Found by killing `mtneuro pretrain`/`task2`/`bench` at random moments (SIGINT, SIGKILL),
then damaging their files between the kill and the resume; these are the cheap cases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.atomic import write_atomic
from mtneuro.errors import DataError
from mtneuro.ssl.checkpoint import truncate_log


def _log_lines(steps: range) -> bytes:
    return b"".join(json.dumps({"step": s, "loss": 1.0 / s}).encode() + b"\n" for s in steps)


def test_ctrl_c_in_the_middle_of_a_write_keeps_the_old_file_and_no_temp(tmp_path: Path):
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old checkpoint")

    def half_then_ctrl_c(handle) -> None:
        handle.write(b"new checkp")  # half of the new file is on disk when Ctrl-C comes
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, half_then_ctrl_c)
    # A resume reads the previous checkpoint whole; no half file or temp file lingers.
    assert target.read_bytes() == b"old checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_resume_cuts_the_log_back_to_the_checkpoint_step(tmp_path: Path):
    # SIGKILL between two checkpoints: the log ran 3 steps past the checkpoint of step 4.
    log = tmp_path / "train_log.jsonl"
    log.write_bytes(_log_lines(range(1, 8)))
    kept = truncate_log(log, 4)
    assert [r["step"] for r in kept] == [1, 2, 3, 4]
    assert log.read_bytes() == _log_lines(range(1, 5))


def test_a_damaged_line_before_the_last_stops_the_resume_and_keeps_the_log(tmp_path: Path):
    log = tmp_path / "train_log.jsonl"
    lines = _log_lines(range(1, 6)).split(b"\n")
    lines[2] = b"{garbage"  # line 3 of 5: not a torn last line, so the log is damaged
    damaged = b"\n".join(lines)
    log.write_bytes(damaged)
    with pytest.raises(DataError, match=rf"{log}: line 3 is not a log record"):
        truncate_log(log, 4)
    assert log.read_bytes() == damaged


def test_resume_into_another_commands_run_is_refused_and_touches_nothing(tmp_path: Path):
    # A task-2 run (its records) is no pre-training run to resume.
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "seed0.pt").write_bytes(b"task 2 weights")
    (run / "metrics.json").write_text('{"task": "task2"}')
    before = tree(tmp_path)
    outcome = invoke(["pretrain", "--quick", "--resume", "--out", "run"], tmp_path)
    assert_one_line_error(outcome, "--resume", "holds no run to resume", "no checkpoint.pt",
                          "it holds a task2 run; choose another --out (--overwrite would "
                          "delete it)")
    assert tree(tmp_path) == before
    # without --resume the refusal says whose run --overwrite would delete
    outcome = invoke(["pretrain", "--quick", "--out", "run"], tmp_path)
    assert_one_line_error(outcome, "already holds a task2 run", "add --overwrite to delete it")
    assert "--resume" not in outcome.err and tree(tmp_path) == before


def _wait_for(path: Path, proc: subprocess.Popen, limit_s: float) -> None:
    end = time.monotonic() + limit_s
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.005)


def test_a_real_ctrl_c_during_data_setup_exits_130_and_leaves_no_checkpoint(tmp_path: Path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # A test run from a background job starts with SIGINT ignored, and Python then installs
    # no handler; re-arm it as a terminal's Ctrl-C would find it.
    start = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "from mtneuro.cli.main import main; main(sys.argv[1:])")
    proc = subprocess.Popen(
        [sys.executable, "-c", start, "pretrain", "--quick", "--quiet", "--out", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(out, proc, 60)  # the folder is checked and made before any image is read
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    # no checkpoint was written: --resume would find nothing, so it is not offered
    assert lines[0].startswith("interrupted before its first checkpoint, so there is nothing "
                               "to resume and what it wrote in OUT is removed; rerun the same "
                               "command"), err
    assert not (out / "checkpoint.pt").exists()
