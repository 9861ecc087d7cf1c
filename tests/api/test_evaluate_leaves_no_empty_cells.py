"""``mtneuro.evaluate(..., out=OUT)`` refused on its data (a recording that does not load)
leaves no empty ``OUT/cells/`` or ``OUT/`` behind, as the command line leaves nothing; a
cell recorded before the refusal stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch import nn

import mtneuro
from mtneuro.errors import DataError


def _recording(path: Path, *, nan: bool = False) -> str:
    rng = np.random.default_rng(0)
    rates = rng.poisson(3.0, (40, 5)).astype(np.float32)
    if nan:
        rates[3, 2] = np.nan
    np.savez(path, firing_rates=rates, trial=np.repeat(np.arange(10), 4),
             label=np.arange(40) % 4, kind=np.array("reach"))
    return str(path)


def test_a_recording_that_does_not_load_leaves_no_folder(tmp_path):
    bad = _recording(tmp_path / "bad.npz", nan=True)
    out = tmp_path / "runs" / "x"
    with pytest.raises(DataError, match="NaN"):
        mtneuro.evaluate(nn.Linear(5, 4), tasks=[f"neural/{bad}"], seeds=[0], out=out)
    assert not (tmp_path / "runs").exists()


def test_an_existing_out_keeps_what_it_held_and_gets_no_cells(tmp_path):
    bad = _recording(tmp_path / "bad.npz", nan=True)
    out = tmp_path / "x"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DataError):
        mtneuro.evaluate(nn.Linear(5, 4), tasks=[f"neural/{bad}"], seeds=[0], out=out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_cell_recorded_before_the_refusal_stays(tmp_path):
    good, bad = _recording(tmp_path / "good.npz"), _recording(tmp_path / "bad.npz", nan=True)
    out = tmp_path / "x"
    with pytest.raises(DataError):
        mtneuro.evaluate(nn.Linear(5, 4), tasks=[f"neural/{good}", f"neural/{bad}"],
                         seeds=[0], out=out)
    (cell,) = (out / "cells").iterdir()
    assert (cell / "metrics.json").is_file()
