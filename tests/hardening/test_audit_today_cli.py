"""Mutation audit of today's run-folder changes: which temporary files a resume or an
overwrite removes, and which metrics.json counts as another command's run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.cli.run_folder import prepare_run_folder
from mtneuro.errors import ConfigError

#: what write_atomic leaves when killed: ``.<target>.<8 random>.tmp``
TORN = ".checkpoint.pt.ab_3x9k2.tmp"


def _pretrain_run(out: Path) -> Path:
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"x")
    return out


def test_only_an_eight_character_random_part_marks_a_torn_write(tmp_path: Path) -> None:
    out = _pretrain_run(tmp_path / "run")
    kept = [out / ".checkpoint.pt.old.tmp", out / ".checkpoint.pt.abcdefghi.tmp"]
    for path in (out / TORN, *kept):
        path.write_bytes(b"partial")
    prepare_run_folder(out, "pretrain", resume=True)
    assert not (out / TORN).exists() and all(p.exists() for p in kept)


def test_only_rank_0_removes_torn_writes_on_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # another torchrun process must not delete a file rank 0 may be writing
    out = _pretrain_run(tmp_path / "run")
    (out / TORN).write_bytes(b"partial")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    prepare_run_folder(out, "pretrain", resume=True)
    assert (out / TORN).exists()


def test_a_folder_or_link_named_like_a_torn_write_is_left_alone(tmp_path: Path) -> None:
    out = _pretrain_run(tmp_path / "run")
    (out / TORN).mkdir()
    (out / "elsewhere.bin").write_bytes(b"user data")
    link = out / ".encoder.pt.zz00aa11.tmp"
    link.symlink_to(out / "elsewhere.bin")
    prepare_run_folder(out, "pretrain", resume=True)  # no IsADirectoryError
    assert (out / TORN).is_dir() and link.is_symlink()


@pytest.mark.parametrize("record", ['{"schema_version": 2}', "[1, 2]", '{"task": 3}'])
def test_a_metrics_json_naming_no_task_is_no_other_commands_run(
        tmp_path: Path, record: str) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text(record)
    with pytest.raises(ConfigError) as info:
        prepare_run_folder(out, "pretrain")
    assert str(info.value) == (f"--out {out} already holds a run (metrics.json); add "
                               "--overwrite to replace it, or choose another --out")


@pytest.mark.parametrize("task", ["task1", "task3"])
def test_a_task_command_counts_either_tasks_run_as_its_own(tmp_path: Path, task: str) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text(f'{{"task": "{task}"}}')
    with pytest.raises(ConfigError) as info:
        prepare_run_folder(out, "task")
    assert str(info.value) == (f"--out {out} already holds a run (metrics.json); add "
                               "--overwrite to replace it, or choose another --out")


@pytest.fixture
def stop_at_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The neural command stops where its run would start (its warnings came before)."""
    from mtneuro.errors import ConfigError as Stop
    from mtneuro.report import record

    def stop(*_: object, **__: object) -> None:
        raise Stop("stopped where the run would start")

    monkeypatch.setattr(record, "run_and_record", stop)


@pytest.mark.parametrize(("config", "args", "warned"), [
    # the refit is on by default: the ensemble asked for is used
    ("method: raw\n", ["--refit-ensemble"], []),
    ("method: raw\nrefit: false\n", ["--refit-ensemble"],
     [("--refit-ensemble not used: the ensemble reads the refit's encoder, and --no-refit "
       "turns the refit off")]),
])
def test_neural_warnings_read_the_settings_the_run_will_use(
        tmp_path: Path, stop_at_the_run: None, config: str, args: list[str],
        warned: list[str]) -> None:
    from cli_probe import invoke

    (tmp_path / "c.yaml").write_text(config)
    outcome = invoke(["neural", "--data", "chewie-1", "--config", "c.yaml", *args,
                      "--out", "run"], tmp_path)
    assert outcome.err_lines[-1] == "error: stopped where the run would start", outcome.err
    assert [line.removeprefix("warning: ") for line in outcome.err_lines
            if line.startswith("warning: ")] == warned
