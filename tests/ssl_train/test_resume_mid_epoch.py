"""Checkpoints inside an epoch (``checkpoint_minutes``): a run interrupted after one resumes
from it, not from the epoch's start, and still ends bit-identical (CPU) to an uninterrupted
run: the epoch's view and method generators are restored, its order and pools drawn again."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from test_resume import (
    MYOW_SETTINGS,
    SETTINGS,
    STATIC_SETTINGS,
    Interrupt,
    counting_view,
    read_log,
)
from test_resume import make_trainer as _make_trainer

from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.epoch_position import CheckpointClock

EVERY_READ_BACK = {"log_every": 1, "checkpoint_minutes": 0.0}  # 0: at every loss read-back


def _settings(base, **changes):
    return dataclasses.replace(base, **EVERY_READ_BACK, **changes)


@pytest.mark.parametrize("settings", [
    _settings(SETTINGS), _settings(MYOW_SETTINGS),
    _settings(MYOW_SETTINGS, prefetch_indices=False),  # pools drawn step by step: advanced
    _settings(STATIC_SETTINGS)], ids=["byol", "myow-pool", "myow-pool-per-step", "static"])
def test_a_run_cut_inside_an_epoch_resumes_there_and_ends_as_the_uninterrupted(
        digits_images, tmp_path, settings):
    views_per_step = 3 if settings.pool_size else 2
    full = _make_trainer(digits_images, tmp_path / "full", settings=settings)
    full.fit()
    # 3 steps per epoch; the 6th step (epoch 1, its 3rd) raises: the last checkpoint is the
    # one after step 5, 2 steps into epoch 1
    with pytest.raises(Interrupt):
        _make_trainer(digits_images, tmp_path / "cut", counting_view(views_per_step * 5),
                      settings=settings).fit()
    state = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert (state["step"], state["epoch"], state["epoch_position"]["steps_done"]) == (5, 1, 2)

    resumed = _make_trainer(digits_images, tmp_path / "cut", settings=settings)
    assert resumed.fit(resume=True)["steps_run"] == 4  # steps 6-9 only
    expected = full.method.state_dict()
    for name, value in resumed.method.state_dict().items():
        assert torch.equal(value, expected[name]), name  # bitwise on CPU
    full_log = read_log(tmp_path / "full/train_log.jsonl")
    cut_log = read_log(tmp_path / "cut/train_log.jsonl")
    assert [r["step"] for r in cut_log] == list(range(1, 10))
    assert [r["loss"] for r in cut_log] == [r["loss"] for r in full_log]
    # the epoch-end checkpoint that followed says nothing of a position inside an epoch
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch_position"] is None


def test_a_mid_epoch_checkpoint_resumes_with_pools_drawn_the_other_way(digits_images, tmp_path):
    """prefetch_indices may change on resume: the pools are the same draws either way."""
    prefetched = _settings(MYOW_SETTINGS)
    full = _make_trainer(digits_images, tmp_path / "full", settings=prefetched)
    full.fit()
    with pytest.raises(Interrupt):
        _make_trainer(digits_images, tmp_path / "cut", counting_view(3 * 5),
                      settings=prefetched).fit()
    resumed = _make_trainer(digits_images, tmp_path / "cut",
                            settings=dataclasses.replace(prefetched, prefetch_indices=False))
    resumed.fit(resume=True)
    for name, value in resumed.method.state_dict().items():
        assert torch.equal(value, full.method.state_dict()[name]), name


def test_the_kept_checkpoint_is_named_with_its_place_inside_the_epoch(digits_images, tmp_path):
    poisoned = counting_view(2 * 5, poison=True)  # step 6's views are NaN
    trainer = _make_trainer(digits_images, tmp_path, poisoned, settings=_settings(SETTINGS))
    with pytest.raises(Exception, match=r"last good checkpoint .*checkpoint\.pt \(epoch 1, then "
                                        r"2 of the 3 steps of epoch 2\)"):
        trainer.fit()


def test_no_checkpoint_inside_an_epoch_unless_asked_or_for_several_processes(
        digits_images, tmp_path, monkeypatch):
    trainer = _make_trainer(digits_images, tmp_path / "off", settings=SETTINGS)
    assert trainer.clock.minutes is None  # the trainer's default: epoch boundaries only
    saves: list[int] = []
    real = type(trainer)._save
    monkeypatch.setattr(type(trainer), "_save",
                        lambda self: (saves.append(self.step), real(self))[1])
    trainer.fit()
    assert saves == [3, 6, 9]  # checkpoint_every 1: each epoch's end, nothing between
    clock = CheckpointClock(10.0)
    assert not clock.due()
    clock.last -= 601.0
    assert clock.due()
    clock.reset()
    assert not clock.due() and not CheckpointClock(None).due()
