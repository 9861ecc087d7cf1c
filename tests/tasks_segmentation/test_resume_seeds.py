"""``task2 --resume`` continues the run its checkpoints belong to, with the seeds it started with.

A resume with other ``--seeds`` used to train the new seeds from scratch beside the old
checkpoints, without a word, and finish as a run of the new seeds, after which the interrupted
seeds could never be resumed. It is refused before any tile is read, naming the checkpoint and
the old and new seeds; a checkpoint written before the seeds were recorded is refused when its
seed is not among the new ones. A resume with the run's seeds goes on as before.

Runs here are a per-class scale of the image (ScaleNet) on GridSource tiles: seconds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from click.testing import CliRunner
from grid_source import GridSource
from scale_net import ScaleNet

from mtneuro.checkpoint_io import save_state
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation import run as run_module
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import task2_config

TINY: dict[str, Any] = {"model": "unet", "classes": 3, "train_z_step": 100, "test_z_step": 50,
                        "window": 256, "eval_batch_size": 8, "quiet": True,
                        "train": {"epochs": 2, "crop": 32, "batch_size": 2,
                                  "steps_per_epoch": 1, "checkpoint_every": 1}}


class _Stopped(CropBatches):
    """Batches that stop the run (Ctrl-C) when seed and epoch are in :attr:`stop_at`."""

    stop_at: ClassVar[set[tuple[int, int]]] = set()

    def epoch(self, e: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if (self.seed, e) in self.stop_at:
            raise KeyboardInterrupt
        return super().epoch(e)


@pytest.fixture(autouse=True)
def _tiny_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "open_source", lambda *_, **__: GridSource())
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    monkeypatch.setattr(run_module, "CropBatches", _Stopped)
    monkeypatch.setattr(_Stopped, "stop_at", set())


def _run(ck: Path, seeds: list[int], resume: bool = False,
         stop_at: set[tuple[int, int]] | None = None) -> dict[str, Any]:
    _Stopped.stop_at = stop_at or set()
    return run_module.run_task2(task2_config(None, **{**TINY, "seeds": seeds}),
                                checkpoint_dir=ck, resume=resume)


def _interrupted(ck: Path, seeds: list[int], at: tuple[int, int]) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(ck, seeds, stop_at={at})


def _contents(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _record_seeds(path: Path) -> Any:
    return torch.load(path, weights_only=True)["record"]["fingerprint"].get("seeds", "none")


def test_a_resume_with_the_runs_seeds_continues_the_stopped_seed_and_starts_the_next(
        tmp_path: Path) -> None:
    # seeds 0 1 2 stopped in seed 1's second epoch: seed 0 done, seed 1 at epoch 1, no seed 2
    _interrupted(tmp_path / "ck", [0, 1, 2], at=(1, 1))
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["seed0.pt", "seed1.pt"]
    resumed = _run(tmp_path / "ck", [0, 1, 2], resume=True)["metrics"]["per_seed"]
    assert [s["train"]["resumed_from_epoch"] for s in resumed] == [2, 1, 0]
    # each checkpoint records the seeds of its run
    assert [_record_seeds(tmp_path / "ck" / f"seed{s}.pt") for s in (0, 1, 2)] == [[0, 1, 2]] * 3
    whole = _run(tmp_path / "whole", [0, 1, 2])["metrics"]["per_seed"]
    assert [s["train"]["loss_per_epoch"] for s in resumed] == [
        s["train"]["loss_per_epoch"] for s in whole]


@pytest.mark.parametrize(("seeds", "named"), [
    ([1], "seeds was [0, 1], now [1]"),
    ([0], "seeds was [0, 1], now [0]"),
    ([0, 1, 2], "seeds was [0, 1], now [0, 1, 2]"),
    ([1, 0], "seeds was [0, 1], now [1, 0]"),
])
def test_a_resume_with_other_seeds_is_refused_before_the_source_is_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: list[int], named: str) -> None:
    ck = tmp_path / "ck"
    _interrupted(ck, [0, 1], at=(1, 1))
    before = _contents(ck)
    monkeypatch.setattr(run_module, "open_source",
                        lambda *_, **__: pytest.fail("the source was opened"))
    with pytest.raises(ConfigError) as refused:
        _run(ck, seeds, resume=True)
    message = str(refused.value)
    assert message == (f"--resume: checkpoint {ck / 'seed0.pt'} was written by a run of other "
                       f"seeds ({named}); resume it with the seeds it was started with "
                       "(--seeds 0 1), use another --out, or start it afresh with --overwrite "
                       "instead of --resume")
    assert _contents(ck) == before


def _as_older(path: Path) -> None:
    """Rewrite ``path`` as an mtneuro from before the seeds were recorded wrote it."""
    state = torch.load(path, weights_only=True)
    state.pop("content_sha256", None)
    state["record"]["fingerprint"].pop("seeds", None)
    save_state(path, state)


def test_an_older_checkpoint_is_refused_only_for_a_seed_not_resumed(tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    _interrupted(ck, [0], at=(0, 1))
    _as_older(ck / "seed0.pt")
    before = _contents(ck)
    with pytest.raises(ConfigError, match=(
            rf"^--resume: checkpoint {ck / 'seed0.pt'} is of seed 0, not among the seeds now "
            r"\[1\] \(it records no seed list: written by an older mtneuro\); resume it with "
            r"the seeds it was started with, use another --out, or start it afresh with "
            r"--overwrite instead of --resume$")):
        _run(ck, [1], resume=True)
    assert _contents(ck) == before
    # its seed among the new seeds: it resumes under the record it was saved with
    resumed = _run(ck, [0, 1], resume=True)["metrics"]["per_seed"]
    assert [s["train"]["resumed_from_epoch"] for s in resumed] == [1, 0]
    assert [_record_seeds(ck / f"seed{s}.pt") for s in (0, 1)] == ["none", [0, 1]]


def _cli(cwd: Path, seeds: list[str], resume: bool = False) -> tuple[int, str, str]:
    """``mtneuro task2`` of :data:`TINY` into ``cwd/run``: (exit code, stdout, stderr)."""
    train = TINY["train"]
    args = ["task2", "--model", "unet", "--classes", "3", "--quiet", "--device", "cpu",
            "--epochs", str(train["epochs"]), "--crop", str(train["crop"]),
            "--batch-size", str(train["batch_size"]), "--out", "run", "--seeds", *seeds,
            *[f"--set={k}={TINY[k]}" for k in ("train_z_step", "test_z_step", "window",
                                                "eval_batch_size")],
            "--set=train.steps_per_epoch=1", "--set=train.checkpoint_every=1",
            *(["--resume"] if resume else [])]
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation() as (out, err, _):
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            return code, out.getvalue().decode(), err.getvalue().decode()
    finally:
        os.chdir(previous)


def test_the_walkthrough_resume_with_another_seed_is_refused_and_the_run_goes_on(
        tmp_path: Path) -> None:
    _Stopped.stop_at = {(0, 1)}
    code, _, err = _cli(tmp_path, ["0"])
    assert code == 130, err
    run = tmp_path / "run"
    before = _contents(run)
    assert "checkpoints/seed0.pt" in before and "metrics.json" not in before
    _Stopped.stop_at = set()
    code, out, err = _cli(tmp_path, ["1"], resume=True)
    assert code == 2, out + err
    checkpoint = Path("run") / "checkpoints" / "seed0.pt"
    assert err.startswith(f"error: --resume: checkpoint {checkpoint} was written by a run of "
                          "other seeds (seeds was [0], now [1]); resume it with the seeds it "
                          "was started with (--seeds 0)")
    assert len(err.strip().splitlines()) == 1
    assert _contents(run) == before  # no seed 1 trained, no metrics.json
    # the run it holds still resumes, and its note counts the run's one checkpoint
    code, out, err = _cli(tmp_path, ["0"], resume=True)
    assert code == 0, err
    assert f"kept 1 checkpoint(s) for --resume in {Path('run') / 'checkpoints'}" in out
