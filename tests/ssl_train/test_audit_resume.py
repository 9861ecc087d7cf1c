"""Audit: the trainer's per-epoch randomness, checkpoint cadence and resume bookkeeping.

A stub method (one parameter, a loss we choose) keeps each run to milliseconds and lets
the tests see every draw the trainer hands out, so the answers are known exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from mtneuro.errors import TrainingError
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.ssl.trainer import Trainer, TrainSettings

N, BATCH = 12, 4  # 3 steps per epoch


class Interrupt(Exception):
    """Stands in for a crash in the middle of a step."""


class StubMethod(nn.Module):
    """The common SSL call on one weight: loss = (w - mean(view_a) + global noise)^2.

    The global ``torch.rand`` stands in for dropout (global RNG); ``poison_from`` makes
    every loss from that forward call on NaN.
    """

    def __init__(self, global_noise: bool = False, poison_from: int | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)  # the same initial state for every run, as a real model's init
        self.w = nn.Parameter(torch.zeros(()))
        self.global_noise, self.poison_from = global_noise, poison_from
        self.draws: list[float] = []
        self.calls = 0

    def forward(self, view_a: torch.Tensor, view_b: torch.Tensor, pool=None, exclude=None,
                mined_weight: float = 0.0, generator: torch.Generator | None = None,
                uniform=None, fuse_target_views: bool = False) -> dict[str, torch.Tensor]:
        self.calls += 1
        self.draws.append(torch.rand((), generator=generator).item())
        noise = torch.rand(()) if self.global_noise else torch.zeros(())
        loss = (self.w - view_a.mean() + noise) ** 2
        if self.poison_from is not None and self.calls >= self.poison_from:
            loss = loss * float("nan")
        return {"loss": loss, "byol_loss": loss.detach()}

    def update_target(self, momentum: float) -> None:
        pass

    def ema_pairs(self) -> list:
        return []


def images() -> torch.Tensor:
    # Sample i is filled with the value i: a batch names the samples in it.
    return torch.arange(N, dtype=torch.float32).view(N, 1, 1, 1).expand(N, 1, 2, 2).contiguous()


def settings(**changes) -> TrainSettings:
    base = {"epochs": 3, "batch_size": BATCH, "lr": 0.01, "warmup_epochs": 0,
            "base_momentum": 0.9, "seed": 3, "log_every": 1, "checkpoint_every": 1, "quiet": True,
            "channels_last": False, "step": "eager"}
    return TrainSettings(**{**base, **changes})


def recording_view(record: list, fail_at: int | None = None):
    """Returns the batch unchanged; records (samples, one draw of the view generator)."""

    def view(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if fail_at is not None and len(record) >= fail_at:
            raise Interrupt
        samples = batch[:, 0, 0, 0].long().tolist()
        record.append((samples, torch.rand((), generator=generator).item()))
        return batch

    return view


def trainer(out_dir: Path | None, view, method: StubMethod | None = None, **changes) -> Trainer:
    method = method or StubMethod()
    optimizer = torch.optim.SGD(method.parameters(), lr=0.01, momentum=0.9)
    return Trainer(method, optimizer, images(), view, settings(**changes), out_dir)


def steps_in_log(out_dir: Path) -> list[int]:
    lines = (out_dir / "train_log.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


def test_every_epoch_draws_a_new_order_new_views_and_new_method_draws():
    record: list = []
    method = StubMethod()
    trainer(None, recording_view(record), method, epochs=2).fit()
    # Two views per step, 3 steps per epoch: record[0:6] is epoch 0, record[6:12] epoch 1.
    epochs = [record[0:6:2], record[6:12:2]]
    for views in epochs:  # each epoch is a permutation of all 12 samples
        assert sorted(s for samples, _ in views for s in samples) == list(range(N))
    assert [s for s, _ in epochs[0]] != [s for s, _ in epochs[1]]
    assert [d for _, d in record[0:6]] != [d for _, d in record[6:12]]
    assert method.draws[0:3] != method.draws[3:6]


def test_every_epoch_draws_new_candidate_pools():
    record: list = []
    trainer(None, recording_view(record), epochs=2, pool_size=4).fit()
    pools = [samples for samples, _ in record[2::3]]  # views a, b, then the pool's
    assert len(pools) == 6 and all(len(set(pool)) == 4 for pool in pools)
    assert pools[0:3] != pools[3:6]


def test_resume_continues_the_global_random_state_a_model_draws_from(tmp_path):
    # Dropout-like noise from the global generator: the resumed run must draw what the
    # uninterrupted one drew after epoch 1, not restart from the model-creation state.
    full = StubMethod(global_noise=True)
    trainer(tmp_path / "full", recording_view([]), full).fit()
    with pytest.raises(Interrupt):
        trainer(tmp_path / "cut", recording_view([], fail_at=2 * 4),
                StubMethod(global_noise=True)).fit()
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1
    resumed = StubMethod(global_noise=True)
    trainer(tmp_path / "cut", recording_view([]), resumed).fit(resume=True)
    assert torch.equal(resumed.w, full.w)


@pytest.mark.parametrize(("fail_at", "epoch"), [(None, 3), (2 * 7, 2)])
def test_checkpoints_follow_the_cadence_and_the_last_epoch_is_always_kept(tmp_path, fail_at,
                                                                          epoch):
    # checkpoint_every=2 of 3 epochs: after epoch 2, and after epoch 3 (the end) although
    # 3 is no multiple of 2; a crash in epoch 3 leaves the epoch-2 checkpoint.
    run = trainer(tmp_path, recording_view([], fail_at=fail_at), checkpoint_every=2)
    if fail_at is None:
        run.fit()
    else:
        with pytest.raises(Interrupt):
            run.fit()
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert (state["epoch"], state["step"]) == (epoch, 3 * epoch)


def test_a_crash_right_after_a_checkpoint_loses_no_log_line(tmp_path):
    # log_every far beyond the run: only the epoch ends read the losses back, so the
    # epoch-1 lines must be on disk when its checkpoint is.
    with pytest.raises(Interrupt):
        trainer(tmp_path, recording_view([], fail_at=2 * 4), epochs=2, log_every=100).fit()
    assert steps_in_log(tmp_path) == [1, 2, 3]
    trainer(tmp_path, recording_view([]), epochs=2, log_every=100).fit(resume=True)
    assert steps_in_log(tmp_path) == [1, 2, 3, 4, 5, 6]


def test_a_fresh_run_in_a_used_folder_starts_a_new_log(tmp_path):
    trainer(tmp_path, recording_view([]), epochs=1).fit()
    again = trainer(tmp_path, recording_view([]), epochs=1).fit()  # not resumed: starts over
    assert again["steps_run"] == 3 and steps_in_log(tmp_path) == [1, 2, 3]


def test_a_nan_after_resuming_names_the_checkpoint_resumed_from(tmp_path):
    with pytest.raises(Interrupt):
        trainer(tmp_path, recording_view([], fail_at=2 * 4)).fit()
    # The resumed run's first step (step 4, epoch 1) is NaN.
    resumed = trainer(tmp_path, recording_view([]), StubMethod(poison_from=1))
    with pytest.raises(TrainingError, match=r"non-finite loss at step 4 \(epoch 2"
                                      r" as the progress line counts; \"epoch\": 1") as err:
        resumed.fit(resume=True)
    assert f"last good checkpoint {tmp_path / 'checkpoint.pt'} (epoch 1)" in str(err.value)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1
