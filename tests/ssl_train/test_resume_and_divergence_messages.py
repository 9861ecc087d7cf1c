"""What ``mtneuro pretrain`` says when it stops (a reliability walkthrough): a resume refused
for its source parameters ends with what to do, as every other refusal does, and the
divergence message's epoch is the progress line's, with the run log's number beside it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError, TrainingError
from mtneuro.ssl import progress
from mtneuro.ssl.trainer import Trainer, TrainSettings
from mtneuro.tasks.pretrain.config import PretrainConfig, make_config
from mtneuro.tasks.pretrain.run import run_pretrain

#: one step of BYOL on the four 64x64 tiles of a volume file, a 2-stage ResNet
TINY = {"source": "volume", "method": "byol", "epochs": 1, "batch_size": 4, "quiet": True,
        "backbone": "resnet-tiny", "backbone_params": {"widths": [4, 8]},
        "projector_hidden": 16, "projector_out": 8, "predictor_hidden": 16}
HINT = "; resume with the settings it was started with, or start it afresh with --overwrite"


def test_a_resume_refused_for_its_source_parameters_ends_with_what_to_do(tmp_path: Path):
    # the command's check before the images are read lets other source parameters pass
    # (they may read the same images): the trainer's own check refused, naming no way out
    volumes = np.random.default_rng(0).integers(0, 255, (2, 4, 64, 64), dtype=np.uint8)
    for name, volume in zip(("a.npy", "b.npy"), volumes):
        np.save(tmp_path / name, volume)
    shutil.copy(tmp_path / "a.npy", tmp_path / "a_copy.npy")
    config = make_config("quick", {**TINY, "out_dir": str(tmp_path / "run"),
                                   "source_params": {"path": str(tmp_path / "a.npy"),
                                                     "z_step": 1}})
    run_pretrain(config)
    where = f"cannot resume {tmp_path / 'run' / 'checkpoint.pt'}"
    with pytest.raises(ConfigError) as epochs:
        run_pretrain(dataclasses.replace(config, epochs=2, resume=True))
    assert str(epochs.value) == f"{where}: epochs was 1, now 2{HINT}"
    with pytest.raises(ConfigError) as source:
        run_pretrain(_source(config, tmp_path / "b.npy"))
    assert str(source.value) == (f"{where}: source_params was {{'path': "
                                 f"'{tmp_path / 'a.npy'}', 'z_step': 1}}, now {{'path': "
                                 f"'{tmp_path / 'b.npy'}', 'z_step': 1}}{HINT}")
    run_pretrain(_source(config, tmp_path / "a_copy.npy"))  # the same images: it resumes


def _source(config: PretrainConfig, path: Path) -> PretrainConfig:
    return dataclasses.replace(config, source_params={"path": str(path), "z_step": 1},
                               resume=True)


class JumpingLoss(nn.Module):
    """The SSL call on one weight whose loss is 1 for ``good_steps`` steps, then 1e6: a
    finite loss far over its running level, which the divergence guard stops at."""

    def __init__(self, good_steps: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.good_steps, self.calls = good_steps, 0

    def forward(self, view_a: torch.Tensor, view_b: torch.Tensor, pool=None, exclude=None,
                mined_weight: float = 0.0, generator: torch.Generator | None = None,
                uniform=None, fuse_target_views: bool = False) -> dict[str, torch.Tensor]:
        self.calls += 1
        loss = self.w * 0.0 + (1.0 if self.calls <= self.good_steps else 1e6)
        return {"loss": loss, "byol_loss": loss.detach()}

    def update_target(self, momentum: float) -> None:
        pass

    def ema_pairs(self) -> list:
        return []


def _trainer(out_dir: Path, method: nn.Module, **changes) -> Trainer:
    """3 steps per epoch of 4 blank 2x2 images, the view the batch itself."""
    settings = {"epochs": 6, "batch_size": 4, "lr": 0.01, "warmup_epochs": 0, "seed": 0,
                "log_every": 3, "quiet": True, "channels_last": False, "step": "eager"}
    return Trainer(method, torch.optim.SGD(method.parameters(), lr=0.01),
                   torch.zeros(12, 1, 2, 2), lambda batch, generator: batch,
                   TrainSettings(**{**settings, **changes}), out_dir)


def test_the_divergence_message_counts_epochs_as_the_progress_line_and_names_the_logs(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)  # a progress line at every flush
    trainer = _trainer(tmp_path, JumpingLoss(good_steps=12), quiet=False)  # epoch 5 jumps
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    message = str(info.value)
    shown = capsys.readouterr().err.strip().splitlines()[-1]
    assert shown.startswith("step 15/18 (epoch 5/6)")  # what the user saw last
    logged = json.loads((tmp_path / "train_log.jsonl").read_text().splitlines()[-1])
    assert (logged["step"], logged["epoch"]) == (15, 4)  # the log counts epochs from 0
    assert message.startswith('training diverged at step 15 (epoch 5 as the progress line '
                              'counts; "epoch": 4 in train_log.jsonl): '
                              "loss 1e+06 is over 100 times its running level 1")
    assert f"last good checkpoint {tmp_path / 'checkpoint.pt'} (epoch 4)" in message
