"""Known answers for what a rerun keeps: only complete records of the same cell and the same
encoder files are done earlier; a run without ``--resume``, a skipped, cut or foreign record
and an interrupted suite are shown as they are (from a mutation audit of the runner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mtneuro.bench import runner
from mtneuro.bench.cell import record_skipped
from mtneuro.bench.progress import CellState
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import Cell, expand, parse_suite


def _cells(methods: tuple[str, ...] = ("ok",), **entry: object) -> list[Cell]:
    return expand(parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": list(methods), **entry}]}))


def _runs(log: Path) -> list[str]:
    return sorted(log.read_text().split())


def _metrics(out: Path, cell_id: str) -> Path:
    return out / "cells" / cell_id / "metrics.json"


def test_without_resume_a_complete_cell_runs_again(tiny_task: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_suite(_cells(), RunOptions(out, quiet=True))
    tiny_task.write_text("")
    states = run_suite(_cells(), RunOptions(out, quiet=True))
    assert _runs(tiny_task) == ["ok-0"]
    assert [s.status for s in states] == ["complete"]


def test_resume_reruns_a_skipped_cell(tiny_task: Path, tmp_path: Path) -> None:
    """A skipped cell's data was not here then; it may be now."""
    out, (cell,) = tmp_path / "out", _cells()
    record_skipped(out, cell, "recording not downloaded")
    states = run_suite([cell], RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["ok-0"] and [s.status for s in states] == ["complete"]


@pytest.mark.parametrize("damage", ["cut", "no cell", "a list", "old schema"])
def test_resume_reruns_a_cell_whose_record_is_cut_or_not_a_cell_record(
        tiny_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    """A crash mid-write, another tool's metrics.json or a record of another bench schema
    is no result to keep: run it (saying why where the record cannot be read at all)."""
    out = tmp_path / "out"
    run_suite(_cells(), RunOptions(out, quiet=True))
    path = _metrics(out, "tiny-a-ok-s0")
    text = path.read_text()
    old = {**json.loads(text), "bench_schema_version": 0}
    path.write_text({"cut": text[: len(text) // 2],
                     "no cell": json.dumps({"status": "complete", "headline": {}}),
                     "a list": "[1, 2]", "old schema": json.dumps(old)}[damage])
    tiny_task.write_text("")
    capsys.readouterr()
    states = run_suite(_cells(), RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["ok-0"] and [s.status for s in states] == ["complete"]
    unreadable = "its record could not be read: rerunning tiny-a-ok-s0\n"
    assert capsys.readouterr().err == (unreadable if damage in ("cut", "a list") else ""), (
        "no 'config changed' line: there was no definition")


def test_a_kept_cell_shows_its_recorded_time_and_headline(tiny_task: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_suite(_cells(), RunOptions(out, quiet=True))
    record = json.loads(_metrics(out, "tiny-a-ok-s0").read_text())
    (state,) = run_suite(_cells(), RunOptions(out, resume=True, quiet=True))
    assert state.status == "earlier"
    assert state.wall_s == record["wall_s"] and state.wall_s is not None
    assert state.headline == {"accuracy": pytest.approx(0.5)}


def test_resume_reruns_a_cell_whose_encoder_param_file_changed(tiny_task: Path,
                                                               tmp_path: Path) -> None:
    """An ``encoder`` param naming a file counts as the cell's input as ``--encoder`` does;
    a rewrite of the same size is seen too (its hash is cached by time and size)."""
    out, weights = tmp_path / "out", tmp_path / "enc.pt"
    weights.write_bytes(b"first")
    os.utime(weights, ns=(1_000_000_000, 1_000_000_000))
    cells = _cells(params={"encoder": str(weights)})
    run_suite(cells, RunOptions(out, quiet=True))
    record = json.loads(_metrics(out, "tiny-a-ok-s0").read_text())
    assert list(record["inputs"]["files"]) == [str(weights)]
    assert [s.status for s in run_suite(cells, RunOptions(out, resume=True, quiet=True))] == [
        "earlier"]
    weights.write_bytes(b"other")  # same size, new content and time
    os.utime(weights, ns=(2_000_000_000, 2_000_000_000))
    tiny_task.write_text("")
    states = run_suite(cells, RunOptions(out, resume=True, quiet=True))
    assert [s.status for s in states] == ["complete"] and _runs(tiny_task) == ["ok-0"]


def test_an_interrupt_marks_the_cells_not_run_cancelled(tiny_task: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The live table and summary show what the interrupt left undone."""
    states: list[CellState] = []

    def recording(cell: Cell) -> CellState:
        states.append(CellState(cell))
        return states[-1]

    monkeypatch.setattr(runner, "CellState", recording)
    with pytest.raises(KeyboardInterrupt):
        run_suite(_cells(("ok", "interrupt", "later")), RunOptions(tmp_path / "o", quiet=True))
    assert [(s.cell.method, s.status) for s in states] == [
        ("ok", "complete"), ("interrupt", "cancelled"), ("later", "cancelled")]
