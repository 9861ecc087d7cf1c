"""Known answers for what the CLI prints around a run (mutation audit mut18 of
``warning_lines.py`` and ``cli/main.py``): warnings once per command and only on rank 0 of
a torchrun job, and which commands say that ``--resume`` goes on after an error."""

from __future__ import annotations

import warnings

from pathlib import Path

import pytest

from mtneuro import checkpoint_io, warning_lines
from mtneuro.cli.main import _resume_hint

HINT = ("error: the run stopped on the error below; its last checkpoint is kept: rerun the "
        "same command with --resume once the cause is fixed")


@pytest.mark.parametrize(("env", "rank"), [
    ({"RANK": "1", "WORLD_SIZE": "2"}, 1),
    ({"RANK": "1", "WORLD_SIZE": "1"}, 0),  # one process is no job of several
    ({"RANK": "1"}, 0),  # a RANK left in the shell, no torchrun
    ({"WORLD_SIZE": "2"}, 0),
])
def test_only_a_process_of_a_job_of_several_has_another_rank(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], rank: int) -> None:
    for name in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert warning_lines.other_rank() == rank


def test_each_command_shows_its_warnings_afresh(capsys: pytest.CaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    own = f"{warning_lines.PACKAGE_DIR}/tasks/api.py"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for _ in range(2):  # two commands in one process, as main() installs per command
            warning_lines.install()
            warnings.warn_explicit("seed 0 warns", UserWarning, own, 1)
            warnings.warn_explicit("seed 0 warns", UserWarning, own, 1)  # a second seed
    assert capsys.readouterr().err == "warning: seed 0 warns\n" * 2


@pytest.mark.parametrize(("argv", "hinted"), [
    (["pretrain", "--quick"], True),
    (["task2", "--model", "unet"], True),
    (["--verbose", "task2", "--resume"], True),  # the command after the group's options
    (["task1", "--method", "byol"], False),  # keeps no checkpoint
    (["bench", "--suite", "quick"], False),  # a cell's error is recorded, not raised
])
def test_the_resume_hint_is_for_commands_that_keep_checkpoints(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], hinted: bool) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(checkpoint_io, "_SAVED", [(Path("c.pt"), "")])  # one, no position
    assert _resume_hint(argv) == (HINT if hinted else None)
    monkeypatch.setattr(checkpoint_io, "_SAVED", [])
    assert _resume_hint(argv) is None  # nothing saved yet: nothing to resume


def test_the_resume_hint_names_where_the_last_checkpoint_stands(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(checkpoint_io, "_SAVED", [(Path("c.pt"), "step 4/8, epoch 1/2"),
                                                  (Path("encoder.pt"), "")])
    assert _resume_hint(["pretrain"]) == HINT.replace(
        "last checkpoint is", "last checkpoint (step 4/8, epoch 1/2) is")
