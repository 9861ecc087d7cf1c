"""Audit: the loss log stops on any non-finite term, from the very first step."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mtneuro.errors import TrainingError
from mtneuro.ssl.loss_log import LossLog


def terms(loss: float, mined: float) -> dict[str, torch.Tensor]:
    return {"loss": torch.tensor(loss, dtype=torch.float64),
            "mined_loss": torch.tensor(mined, dtype=torch.float64)}


def test_one_non_finite_term_stops_even_when_the_total_is_finite(tmp_path: Path):
    log = LossLog(tmp_path / "log.jsonl", batch_size=4, writes=True)
    log.reset()
    log.add(1, 0, {"lr": 0.1}, terms(1.0, 0.5))
    log.add(2, 0, {"lr": 0.1}, terms(1.0, math.inf))  # the total alone would pass
    with pytest.raises(TrainingError, match=r"non-finite loss at step 2 \(epoch 1"
                                      r" as the progress line counts; \"epoch\": 0[^)]*\): "
                                            r"mined_loss=inf; training stopped, kept here"):
        log.flush(lambda: "kept here")
    # The good step before it is written, the bad one is not.
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["loss"], r["mined_loss"]) for r in lines] == [(1, 1.0, 0.5)]


def test_a_nan_in_the_first_step_stops_too(tmp_path: Path):
    log = LossLog(tmp_path / "log.jsonl", batch_size=4, writes=True)
    log.reset()
    log.add(1, 0, {"lr": 0.1}, terms(math.nan, 0.0))
    with pytest.raises(TrainingError, match=r"non-finite loss at step 1 \(epoch 1 as the progress"
                                      r" line counts; \"epoch\": 0 in log.jsonl\): loss=nan"):
        log.flush(lambda: "no checkpoint had been written")
    assert (tmp_path / "log.jsonl").read_text() == ""
