"""``mtneuro.evaluate(..., out=DIR)`` keeps one encoder per folder: each cell records the weights
it evaluated, and another encoder's call into DIR is refused (cell ids do not name the
encoder, so their seeds were averaged as one encoder's); ``overwrite=True`` replaces the whole
previous evaluation; ``load_results`` refuses a pretrain run's record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from toy_task import MeanBrightness

import mtneuro
from mtneuro.api import NoResultsError
from mtneuro.checkpoint_io import content_digest
from mtneuro.errors import ConfigError

NEURAL = ["neural/chewie-1"]
IN_MEMORY = "torch.nn.modules.container:Sequential (in memory)"


def _rates_encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(174, 4), nn.ReLU())


def _record(out: Path, seed: int) -> dict:
    return json.loads((out / "cells" / f"neural-chewie-1-encoder-s{seed}" / "metrics.json")
                      .read_text())


def test_another_encoder_of_the_same_class_is_refused_and_the_same_one_adds_seeds(
        tmp_path: Path) -> None:
    """Before: B (other weights) went in as seed 1 of A, one row averaging both."""
    first, other = _rates_encoder(0), _rates_encoder(1)
    mine, theirs = (content_digest(m.state_dict()) for m in (first, other))
    mtneuro.evaluate(first, tasks=NEURAL, seeds=[0], out=tmp_path)
    assert _record(tmp_path, 0)["inputs"]["encoders"] == {IN_MEMORY: mine}
    with pytest.raises(ConfigError) as info:
        mtneuro.evaluate(other, tasks=NEURAL, seeds=[1], out=tmp_path)
    assert str(info.value) == (
        f"out {tmp_path}: cell neural-chewie-1-encoder-s0 holds a result of another encoder "
        f"({IN_MEMORY}, sha256 {mine[:12]}), not this call's ({IN_MEMORY}, sha256 "
        f"{theirs[:12]}); one leaderboard row would mix the two: pass overwrite=True to "
        "replace out's results, or another out")
    assert [p.name for p in (tmp_path / "cells").iterdir()] == ["neural-chewie-1-encoder-s0"]
    mtneuro.evaluate(first, tasks=NEURAL, seeds=[1], out=tmp_path)  # more seeds of the same
    assert [row["n"] for row in mtneuro.load_results(tmp_path).table(published=False)] == [2, 2]


def test_a_result_whose_weights_were_not_recorded_is_refused(tmp_path: Path) -> None:
    """A record written before weights were kept may be of any encoder."""
    encoder = _rates_encoder(0)
    mtneuro.evaluate(encoder, tasks=NEURAL, seeds=[0], out=tmp_path)
    path = tmp_path / "cells" / "neural-chewie-1-encoder-s0" / "metrics.json"
    record = json.loads(path.read_text())
    record["inputs"].pop("encoders", None)
    path.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=re.escape(
            f"cell neural-chewie-1-encoder-s0 holds a result of another encoder ({IN_MEMORY}, "
            "weights not recorded), not this call's")):
        mtneuro.evaluate(encoder, tasks=NEURAL, seeds=[1], out=tmp_path)


def test_an_encoder_spec_adds_seeds_and_an_in_memory_module_beside_it_is_refused(
        toy, tmp_path: Path) -> None:
    """A spec's record keeps the fingerprint the bench records for it (``inputs.encoders``)."""
    spec = "toy_task:MeanBrightness"
    for seed in (0, 1):
        mtneuro.evaluate(spec, tasks="toy/easy", seeds=[seed], out=tmp_path)
    with pytest.raises(ConfigError, match=rf"holds a result of another encoder \({spec}, sha256 "):
        mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", seeds=[2], out=tmp_path)


def test_overwrite_replaces_the_previous_evaluation_and_its_report(tmp_path: Path) -> None:
    """Before: seed 1 of the old encoder stayed, averaged with the new seed 0, and the old
    report stayed beside them."""
    mtneuro.evaluate(_rates_encoder(0), tasks=NEURAL, seeds=[0, 1], out=tmp_path)
    for name in ("report.html", "leaderboard.md", "notes.txt"):
        (tmp_path / name).write_text("old")
    (tmp_path / "report_figures").mkdir()
    (tmp_path / "report_figures" / "summary.png").write_bytes(b"old")
    new = _rates_encoder(1)
    (result,) = mtneuro.evaluate(new, tasks=NEURAL, seeds=[0], out=tmp_path, overwrite=True)
    assert [p.name for p in (tmp_path / "cells").iterdir()] == ["neural-chewie-1-encoder-s0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells", "notes.txt"]  # the user's
    (loaded,) = mtneuro.load_results(tmp_path)
    assert loaded.headline == result.headline
    assert loaded.record["inputs"]["encoders"] == {IN_MEMORY: content_digest(new.state_dict())}


@pytest.mark.parametrize("name", ["", "metrics.json"])
def test_load_results_refuses_a_pretrain_runs_record(tmp_path: Path, name: str) -> None:
    """Before: a Results of one result whose table was empty."""
    run = tmp_path / "pre"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(
        {"schema_version": 2, "task": "pretrain", "config": {}, "metrics": {"loss": 1.0}}))
    path = run / name if name else run
    with pytest.raises(NoResultsError) as info:
        mtneuro.load_results(path)
    assert str(info.value) == (
        f"load_results: {path}: the record of a `mtneuro pretrain` run, which scores no "
        "benchmark task (task1, task2, task3, neural): to score its encoder, evaluate it "
        f"(mtneuro.evaluate('{run}/encoder.pt', tasks=['task1/roi-c1']))")
