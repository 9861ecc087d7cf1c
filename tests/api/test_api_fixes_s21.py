"""``mtneuro.evaluate`` builds a neural task's encoder spec as its record fingerprints it (seed 0,
whatever the caller's random state), and ``load_results`` warns of the cells of a folder that
are not in its results (not complete, unreadable, or left out as the report leaves them)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import mtneuro
from mtneuro.bench.cell import record_failure, record_skipped, run_cell
from mtneuro.bench.suite import Cell, cell_id
from mtneuro.checkpoint_io import content_digest
from mtneuro.report.suite_cells import write_suite_cells
from mtneuro.tasks.registry import get_task

NEURAL = ["neural/chewie-1"]
PARAMS = {"refit": False}  # seconds: the readout fitted once
SPEC = "s21_rates_encoder:random_linear"


def _rates_encoder() -> nn.Module:
    return nn.Sequential(nn.Linear(174, 4), nn.ReLU())


@pytest.fixture
def random_init_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``module:callable`` whose weights are drawn from the global random state."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "s21_rates_encoder.py").write_text(
        "from torch import nn\n\n\ndef random_linear():\n"
        "    encoder = nn.Sequential(nn.Linear(174, 4), nn.ReLU())\n"
        "    encoder.in_dim = 174  # a vector encoder (mtneuro probes it so)\n"
        "    return encoder\n")
    monkeypatch.syspath_prepend(str(folder))
    return SPEC


def _record(out: Path, cell: str = "neural-chewie-1-encoder-s0") -> dict:
    return json.loads((out / "cells" / cell / "metrics.json").read_text())


def test_a_neural_spec_scores_the_weights_its_record_fingerprints_whatever_the_callers_rng(
        random_init_spec: str, tmp_path: Path) -> None:
    """Before: the spec was built under the caller's random state, so two identical calls
    scored different weights, neither those of the recorded fingerprint (built at seed 0)."""
    runs = []
    for caller_seed in (5, 7):
        torch.manual_seed(caller_seed)
        out = tmp_path / f"caller-{caller_seed}"
        (result,) = mtneuro.evaluate(random_init_spec, tasks=NEURAL, seeds=[0], out=out,
                                     params=PARAMS)
        runs.append((result.metrics["accuracy"], result.headline, _record(out)))
    assert runs[0][:2] == runs[1][:2]
    # the same cell through the bench's run_cell, given the spec's seed-0 build in memory
    cell = Cell(id=cell_id("neural", "chewie-1", "encoder", 0), task="neural",
                setting="chewie-1", method="encoder", seed=0, preset="quick",
                params=dict(PARAMS), source="phantom", source_params={}, encoder=SPEC)
    torch.manual_seed(0)
    seed_zero = _rates_encoder()
    bench = tmp_path / "bench"
    assert run_cell(cell, get_task("neural"), bench, encoder=seed_zero)["status"] == "complete"
    bench_record = _record(bench)
    assert runs[0][1] == bench_record["headline"]
    assert runs[0][2]["metrics"]["accuracy"] == bench_record["metrics"]["accuracy"]
    # what ran is what both records fingerprint
    assert runs[0][2]["inputs"]["encoders"] == bench_record["inputs"]["encoders"] == {
        SPEC: content_digest(seed_zero.state_dict())}


def _cell(seed: int) -> Cell:
    return Cell(id=cell_id("neural", "chewie-1", "encoder", seed), task="neural",
                setting="chewie-1", method="encoder", seed=seed, preset="quick", params={},
                source="phantom", source_params={})


@pytest.fixture(scope="module")
def one_complete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of one complete neural cell (seed 0) and one of seed 1 (left out by tests)."""
    out = tmp_path_factory.mktemp("complete")
    torch.manual_seed(0)
    mtneuro.evaluate(_rates_encoder(), tasks=NEURAL, seeds=[0, 1], out=out, params=PARAMS)
    return out


def _copy_of(folder: Path, tmp_path: Path, *, keep_seed_1: bool = False) -> Path:
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    if not keep_seed_1:
        shutil.rmtree(out / "cells" / "neural-chewie-1-encoder-s1")
    return out


def test_load_results_names_the_cells_that_are_not_complete_or_not_readable(
        one_complete: Path, tmp_path: Path) -> None:
    """Before: a folder of one complete, four failed, one skipped and one damaged cell loaded
    as one result, silently."""
    out = _copy_of(one_complete, tmp_path)
    for seed in (2, 3, 5, 6):
        record_failure(out, _cell(seed), RuntimeError("boom"), wall_s=0.1)
    record_skipped(out, _cell(4), "recording 'chewie-1' is not downloaded")
    (out / "cells" / "damaged").mkdir()
    (out / "cells" / "damaged" / "metrics.json").write_text("[]")
    with pytest.warns(UserWarning) as caught:
        results = mtneuro.load_results(out)
    assert [r.config["seed"] for r in results] == [0]
    (warning,) = caught
    assert str(warning.message) == (
        f"load_results: {out}/cells: not in these results: 5 not complete "
        "(neural-chewie-1-encoder-s2 failed, neural-chewie-1-encoder-s3 failed, "
        "neural-chewie-1-encoder-s4 skipped and 2 more); 1 unreadable (cells/damaged/"
        f"metrics.json: expected a JSON object, got list). `mtneuro report {out}` lists each "
        "and why; `mtneuro bench --resume` (with the suite and --out that wrote them) reruns "
        "the cells not complete or unreadable")
    assert warning.filename == __file__  # the caller's line, not the library's


def test_load_results_names_the_records_the_report_leaves_out(one_complete: Path,
                                                              tmp_path: Path) -> None:
    """Before: seed 1, of an earlier run than the suite run last in the folder, was left out
    of the results (as the report leaves it out) without a word."""
    out = _copy_of(one_complete, tmp_path, keep_seed_1=True)
    write_suite_cells(out, "mine", ["neural-chewie-1-encoder-s0"])
    with pytest.warns(UserWarning, match=re.escape(
            "not in these results: left out 1 record(s) in cells/ of an earlier run, not cells "
            "of suite 'mine' run here since (suite_cells.json): neural-chewie-1-encoder-s1; "
            "kept on disk, not averaged in. `mtneuro report")):
        results = mtneuro.load_results(out)
    assert [r.config["seed"] for r in results] == [0]
