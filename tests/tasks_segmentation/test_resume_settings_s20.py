"""``task2 --resume`` of a finished run with other settings is refused before any tile is read:
it used to score the run again under the new test settings (``test_z_step``, ``window``,
``overlap``, ...) and replace ``metrics.json`` without a word, so the folder no longer held
what was first measured. The refusal names every changed key, old and new value, and how to go
on; nothing in the folder changes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from click.testing import CliRunner
from grid_source import GridSource

from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation import run as run_module
from mtneuro.tasks.segmentation.task import TASK2

#: the finished run: a few seconds on the analytic source
SETTINGS: dict[str, Any] = {"train_z_step": 100, "test_z_step": 50, "window": 256,
                            "eval_batch_size": 8, "train.steps_per_epoch": 1}
FLAGS = ["--model", "unet", "--classes", "3", "--quiet", "--epochs", "1", "--crop", "32",
         "--batch-size", "2"]


def _grid_source(*_: Any, **__: Any) -> GridSource:
    return GridSource()


def _task2(cwd: Path, changes: dict[str, Any] | None = None, extra: tuple[str, ...] = (),
           resume: bool = True) -> tuple[int, str]:
    """``mtneuro task2`` in ``cwd`` with :data:`SETTINGS` and ``changes`` as ``--set`` keys:
    (exit code, stderr)."""
    settings = [f"--set={key}={value}" for key, value in {**SETTINGS, **(changes or {})}.items()]
    args = ["task2", *FLAGS, *settings, *extra, *(["--resume"] if resume else []), "--out", "run"]
    if "--seeds" not in extra:
        args += ["--seeds", "0"]
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation() as streams:
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            err = streams[1].getvalue().decode()
    finally:
        os.chdir(previous)
    return code, err


def _contents(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the SHA-256 of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a finished task-2 run (``run/metrics.json``, overlays, checkpoint)."""
    cwd = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "open_source", _grid_source)
        code, err = _task2(cwd, resume=False)
    assert code == 0, err
    assert (cwd / "run" / "metrics.json").is_file()
    return cwd


@pytest.fixture(autouse=True)
def _analytic_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "open_source", _grid_source)


@pytest.mark.parametrize(("changes", "extra", "named"), [
    ({"test_z_step": 25}, (), "test_z_step was 50, now 25"),
    ({"window": 128}, (), "window was 256, now 128"),
    ({"overlap": 0.5}, (), "overlap was 0.25, now 0.5"),
    ({"examples_per_region": 1}, (), "examples_per_region was 2, now 1"),
    ({}, ("--seeds", "0", "1"), "seeds was [0], now [0, 1]"),
    ({"train.lr": 0.01}, (), "train.lr was 0.001, now 0.01"),
])
def test_a_finished_run_resumed_with_other_settings_is_refused_and_kept(
        finished: Path, changes: dict[str, Any], extra: tuple[str, ...], named: str) -> None:
    before = _contents(finished)
    code, err = _task2(finished, changes, extra)
    assert code == 2, err
    assert err.startswith("error: --resume: run holds a finished task2 run with other settings")
    assert len(err.strip().splitlines()) == 1 and named in err
    assert "choose another --out" in err and "--overwrite instead of --resume" in err
    assert _contents(finished) == before  # what it measured, its overlays and checkpoint


def test_the_refusal_names_every_changed_measure_and_how_to_rescore(finished: Path) -> None:
    before = _contents(finished)
    # eval_batch_size and the device change how fast it scores, not what: not named
    code, err = _task2(finished, {"test_z_step": 25, "overlap": 0.5, "eval_batch_size": 2},
                       ("--device", "cpu"))
    assert code == 2, err
    assert ("(test_z_step was 50, now 25; overlap was 0.25, now 0.5); a resume finishes a run "
            "with the settings it started with and would replace its metrics.json") in err
    assert "eval_batch_size" not in err and "device" not in err
    # only scoring settings changed: the trained models can be scored elsewhere
    assert f"copy {Path('run') / 'checkpoints'} there and --resume" in err
    assert _contents(finished) == before
    # a training setting changed too: copying the checkpoints would not help
    code, err = _task2(finished, {"test_z_step": 25, "train.lr": 0.01})
    assert code == 2 and "train.lr was 0.001, now 0.01" in err and "copy" not in err


def test_the_library_refuses_it_too_before_opening_the_source(
        finished: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "open_source",
                        lambda *_, **__: pytest.fail("the source was opened"))
    config = TASK2.make_config(None, {"model": "unet", "classes": 3, "seeds": [0],
                                      "quiet": True, "train_z_step": 100, "test_z_step": 25,
                                      "window": 256, "eval_batch_size": 8,
                                      "train": {"epochs": 1, "crop": 32, "batch_size": 2,
                                                "steps_per_epoch": 1}})
    before = _contents(finished)
    with pytest.raises(ConfigError, match=r"finished task2 run with other settings "
                                          r"\(test_z_step was 50, now 25\)"):
        run_module.run(config, workdir=finished / "run", resume=True)
    assert _contents(finished) == before


@pytest.mark.parametrize(("changes", "extra"), [({}, ()), ({"depth": 1}, ("--dim", "2d"))])
def test_a_finished_run_resumed_with_its_settings_is_kept_as_it_is(
        finished: Path, changes: dict[str, Any], extra: tuple[str, ...]) -> None:
    # the run was started without --dim (a U-Net is 2D): naming the dimension and the 2D
    # depth it had is no change either. Nothing is scored again, and the record of its
    # training (train_s, the epoch it resumed from) stays
    before = _contents(finished)
    code, err = _task2(finished, changes, extra)
    assert code == 0 and err == ""
    assert _contents(finished) == before


def test_the_library_says_a_finished_run_has_nothing_to_resume(finished: Path) -> None:
    from mtneuro.tasks.segmentation.finished_run import RunFinished

    config = TASK2.make_config(None, {"model": "unet", "classes": 3, "seeds": [0],
                                      "quiet": True, **{k: v for k, v in SETTINGS.items()
                                                        if "." not in k},
                                      "train": {"epochs": 1, "crop": 32, "batch_size": 2,
                                                "steps_per_epoch": 1}})
    with pytest.raises(RunFinished, match=r"already holds this task2 run, finished .*nothing "
                                          r"to resume: its results are kept"):
        run_module.run(config, workdir=finished / "run", resume=True)


def test_as_run_fills_in_what_the_run_would() -> None:
    from mtneuro.tasks.segmentation.finished_run import as_run

    filled = as_run({"model": "unet3d", "dim": None, "depth": None, "window": None,
                     "train": {"crop": 64}})
    assert (filled["dim"], filled["depth"], filled["window"]) == ("3d", 8, 64)
    given = as_run({"model": "unet", "dim": "2d", "depth": 1, "window": 128,
                    "train": {"crop": 64}})
    assert (given["dim"], given["depth"], given["window"]) == ("2d", 1, 128)
