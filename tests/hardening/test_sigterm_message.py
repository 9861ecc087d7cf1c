"""SIGTERM (``kill``, a scheduler stopping a job) gets Ctrl-C's clean-up and message, with
exit status 143, where it ended the command without a word (data chaos walkthrough)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from mtneuro.cli.main import main


class _NotHandled(Exception):
    """The test's own SIGTERM handler ran: the command installed none (it would have ended
    the test process)."""


@pytest.fixture(autouse=True)
def _fallback_handler():
    def fallback(signum: int, frame: object) -> None:
        raise _NotHandled

    previous = signal.signal(signal.SIGTERM, fallback)
    yield fallback
    signal.signal(signal.SIGTERM, previous)


def _killed_during(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> None:
    """``module.name`` sends this process SIGTERM, then waits for it."""

    def run(*_: object, **__: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(f"{module}.{name}", run)


def test_sigterm_during_a_data_fetch_says_so_and_exits_143(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    _killed_during(monkeypatch, "mtneuro.data.sources.cache_fetch", "fill_cache")
    before = signal.getsignal(signal.SIGTERM)  # the fixture's
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "fetch", "--source", "phantom", "--cache", str(tmp_path / "c.zarr"),
              "--z", "0:4", "--y", "0:64", "--x", "0:64"])
    assert exit_info.value.code == 143
    assert capsys.readouterr().err.strip().endswith("terminated (SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back


def test_sigterm_during_pretraining_offers_resume_like_ctrl_c(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from mtneuro import checkpoint_io

    monkeypatch.setattr(checkpoint_io, "_SAVED", [])  # no checkpoint of an earlier test
    _killed_during(monkeypatch, "mtneuro.tasks.pretrain.run", "run_pretrain")
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--quick", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 143
    assert capsys.readouterr().err.strip() == (
        "terminated (SIGTERM) before its first checkpoint, so there is nothing to resume and "
        "what it wrote in OUT is removed; rerun the same command to start again")


def test_a_ctrl_c_after_the_console_command_ended_is_ignored() -> None:
    import subprocess
    import sys

    # main() with no argv is the console script; a Ctrl-C after it returns used to land in
    # interpreter shutdown as a torch traceback (exit 0) or kill the process (-2).
    script = ("import os, signal, sys, time\n"
              "from mtneuro.cli.main import main\n"
              "sys.argv = ['mtneuro', 'data', 'list']\n"
              "main()\n"
              "os.kill(os.getpid(), signal.SIGINT)\n"
              "time.sleep(0.2)\n"
              "print('ended quietly')\n")
    env = {**os.environ, "MTNEURO_DATA": "/nonexistent-mtneuro-data"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ended quietly")
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr
