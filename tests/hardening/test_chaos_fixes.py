"""What the chaos walkthrough (kill, damage, resume) found, fixed: a checkpoint changed on
disk is refused instead of trained on, Ctrl-C and the run-folder refusals say what will
work, temporary files of killed writes do not pile up, and a torn record of a finished
run is written again."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from cli_probe import invoke

from mtneuro import checkpoint_io
from mtneuro.checkpoint_io import INTEGRITY_KEY, content_digest, load_state, save_state
from mtneuro.cli import main as cli_main
from mtneuro.folder_lock import release_run_folder
from mtneuro.cli.run_folder import prepare_run_folder
from mtneuro.errors import CheckpointError, ConfigError, TrainingError

SEVENS = torch.full((64,), 7.0)


def test_a_checkpoint_whose_tensor_bytes_changed_is_refused(tmp_path: Path) -> None:
    path = save_state(tmp_path / "c.pt", {"weights": SEVENS.clone(), "step": 3})
    data = bytearray(path.read_bytes())
    at = bytes(data).index(SEVENS.numpy().tobytes())  # torch stores the bytes uncompressed
    data[at + 5] ^= 0x01  # one flipped bit: torch itself loads this file without a word
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    assert not torch.equal(torch.load(tmp_path / "flipped.pt", weights_only=True)["weights"],
                           SEVENS)
    with pytest.raises(CheckpointError) as info:
        load_state(tmp_path / "flipped.pt", what="training checkpoint", damaged_fix="do X")
    assert str(info.value) == (f"training checkpoint {tmp_path / 'flipped.pt'} is damaged: its "
                               "contents no longer match the SHA-256 saved with them (changed "
                               "on disk or in a copy); do X")
    intact = load_state(path, what="training checkpoint")
    assert INTEGRITY_KEY not in intact and intact["step"] == 3  # the caller sees its payload


def test_a_file_written_without_a_digest_still_loads(tmp_path: Path) -> None:
    torch.save({"weights": SEVENS, "step": 1}, tmp_path / "old.pt")
    assert load_state(tmp_path / "old.pt", what="checkpoint")["step"] == 1


def test_the_digest_covers_values_keys_dtypes_and_shapes() -> None:
    base = {"a": torch.zeros(4), "b": [1, 2.5, "x", None], "c": {0: True}}
    same = {"c": {0: True}, "b": [1, 2.5, "x", None], "a": torch.zeros(4)}
    assert content_digest(base) == content_digest(same)  # key order is no content
    for changed in ({**base, "a": torch.zeros(2, 2)}, {**base, "a": torch.zeros(4).double()},
                    {**base, "a": torch.tensor([0.0, 0, 0, 1e-30])}, {**base, "b": [1, 2.5]},
                    {**base, "b": [1.0, 2.5, "x", None]}, {**base, "c": {"0": True}},
                    {**base, "d": None}):
        assert content_digest(changed) != content_digest(base)
    half = {"w": torch.ones(3, dtype=torch.bfloat16)}
    assert content_digest(half) != content_digest({"w": torch.ones(3, dtype=torch.float16)})


@pytest.mark.parametrize(("argv", "saved", "expected"), [
    (["pretrain", "--quick"], False, "interrupted before its first checkpoint"),
    (["pretrain", "--quick"], True, "interrupted; rerun the same command with --resume"),
    (["task2", "--resume"], False, "interrupted; rerun the same command with --resume"),
    (["bench", "--suite", "quick"], False, ("interrupted; rerun the same command with "
                                            "--resume to run the cells that did not finish")),
    (["neural", "--data", "chewie-1"], True, "interrupted; neural keeps no checkpoints: rerun"),
    (["data", "download", "chewie-2"], False, "interrupted"),
])
def test_ctrl_c_offers_resume_only_where_there_is_something_to_resume(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], saved: bool, expected: str) -> None:
    monkeypatch.setattr(checkpoint_io, "_SAVED", [(Path("c.pt"), "")] if saved else [])
    message = cli_main._interrupted(argv)
    assert message.startswith(expected), message
    if expected == "interrupted":
        assert message == "interrupted"


def test_a_folder_named_like_the_checkpoint_is_nothing_to_resume(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").mkdir()
    (tmp_path / "train_log.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(ConfigError, match="holds no run to resume .* drop --resume and add "
                                          "--overwrite to start afresh"):
        prepare_run_folder(tmp_path, "pretrain", resume=True)
    # nor is --resume offered for it
    with pytest.raises(ConfigError) as refused:
        prepare_run_folder(tmp_path, "pretrain")
    assert "--resume" not in str(refused.value) and "add --overwrite" in str(refused.value)


def test_temporary_files_of_killed_writes_go_when_a_run_resumes_or_restarts(
        tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    (tmp_path / "checkpoints").mkdir()
    torn = [tmp_path / ".checkpoint.pt.ab_3x9k2.tmp", tmp_path / ".train_log.jsonl.zz00aa11.tmp"]
    mine = [tmp_path / "notes.tmp", tmp_path / ".hidden.tmp", tmp_path / ".a.short.tmp",
            tmp_path / ".notes.txt.ab_3x9k2.tmp",  # not a temporary file of the run's records
            tmp_path / "checkpoints" / ".seed0.pt.0123abcd.tmp"]  # nor of a task-2 run's
    for path in (*torn, *mine):
        path.write_bytes(b"partial")
    prepare_run_folder(tmp_path, "pretrain", resume=True, dry_run=True)
    assert all(p.exists() for p in torn)  # a dry run changes nothing
    prepare_run_folder(tmp_path, "pretrain", resume=True)
    assert not any(p.exists() for p in torn) and all(p.exists() for p in mine)
    torn[0].write_bytes(b"partial")
    prepare_run_folder(tmp_path, "pretrain", overwrite=True)
    assert not torn[0].exists() and all(p.exists() for p in mine)
    (tmp_path / "checkpoints" / "seed0.pt").write_bytes(b"x")  # a task-2 run resumes
    prepare_run_folder(tmp_path, "resumable-task", resume=True)
    assert not mine[-1].exists() and all(p.exists() for p in mine[:-1])


def test_a_plain_rerun_into_a_folder_without_records_removes_its_torn_writes(
        tmp_path: Path) -> None:
    # task3 killed (kill -9) while writing metrics.json: no record, so a rerun is accepted
    torn = tmp_path / ".metrics.json.4ybextfn.tmp"
    mine = tmp_path / ".notes.txt.4ybextfn.tmp"
    for path in (torn, mine):
        path.write_bytes(b"partial")
    prepare_run_folder(tmp_path, "task", dry_run=True)
    assert torn.exists()  # a dry run changes nothing
    assert prepare_run_folder(tmp_path, "task") == tmp_path
    assert not torn.exists() and mine.exists()
    release_run_folder(tmp_path)
    assert prepare_run_folder(tmp_path / "new", "task") == tmp_path / "new"
    # made only to be locked for the run, and gone with the lock when the run wrote nothing
    assert (tmp_path / "new").is_dir() and not any((tmp_path / "new").iterdir())
    release_run_folder(tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_divergence_says_how_to_rerun_with_other_settings() -> None:
    from mtneuro.ssl.divergence import DivergenceGuard

    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(float("nan"))  # a diverged step
    with pytest.raises(TrainingError, match=r"lower the learning rate and rerun with "
                                            r"--overwrite \(--resume continues only"):
        DivergenceGuard().check(model, torch.optim.SGD(model.parameters(), lr=0.1),
                                1.0, "step 3", lambda: "none kept")


def test_a_finished_runs_torn_record_is_written_again(tmp_path: Path) -> None:
    args = ["pretrain", "--quick", "--epochs", "1", "--quiet", "--out", "run"]
    first = invoke(args, tmp_path)
    assert first.code == 0, first.err
    record = tmp_path / "run" / "metrics.json"
    loss = json.loads(record.read_text())["metrics"]["final_loss"]
    record.write_text('{"schema_version": 2, "ta')  # cut short by a crash
    again = invoke([*args, "--resume"], tmp_path)
    assert again.code == 0, again.err
    assert f"warning: {Path('run') / 'metrics.json'} could not be read" in again.err
    assert json.loads(record.read_text())["metrics"]["final_loss"] == loss
    assert "nan" not in again.out and "nothing to resume" in again.out
    kept = invoke([*args, "--resume"], tmp_path)  # a readable record is kept as it is
    assert "its metrics.json is kept" in kept.out and "warning" not in kept.err


def test_a_resume_whose_log_was_deleted_says_so(tmp_path: Path) -> None:
    from mtneuro.ssl.loss_log import LossLog

    log = LossLog(tmp_path / "train_log.jsonl", batch_size=8, writes=True)
    with pytest.warns(UserWarning, match=r"holds no record of the 36 steps before the "
                                         r"checkpoint \(deleted or emptied\); it will hold only "
                                         r"the steps from 37 on"):
        log.truncate(36)
    (tmp_path / "train_log.jsonl").write_text('{"step": 36, "loss": 0.5}\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log.truncate(36)  # records kept: nothing to say
        log.truncate(0)  # a checkpoint before any step has no records to lose
    assert log.last_loss == 0.5
