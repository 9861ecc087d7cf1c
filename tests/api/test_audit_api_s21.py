"""Known answers of :func:`mtneuro.evaluate`'s checks of ``out`` that a mutation audit found
untested: which records refuse a call (a cell's record, not its folder; complete results, not
skipped ones), the words of the refusals, and what ``overwrite=True`` removes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from toy_task import MeanBrightness

import mtneuro
from mtneuro.api import _refuse_other_weights
from mtneuro.errors import ConfigError

CELL = "toy-easy-encoder-s0"


def _evaluate(out: Path, seeds: tuple[int, ...] = (0,), overwrite: bool = False
              ) -> mtneuro.Results:
    return mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", preset="quick", seeds=seeds,
                            out=out, overwrite=overwrite)


def _cell_record(out: Path, cell: dict, **keys: object) -> Path:
    """A complete cell record written by hand (no ``inputs``: no weights recorded)."""
    folder = out / "cells" / cell["id"]
    folder.mkdir(parents=True)
    record = {"schema_version": 2, "task": "toy", "status": "complete", "cell": cell,
              "metrics": {}, "headline": {}, **keys}
    (folder / "metrics.json").write_text(json.dumps(record))
    return folder / "metrics.json"


def test_a_cells_folder_without_its_record_holds_no_result(toy, tmp_path: Path) -> None:
    # a run stopped before its record: nothing to refuse, the call writes the record
    (tmp_path / "cells" / CELL).mkdir(parents=True)
    (tmp_path / "cells" / CELL / "stray.png").write_bytes(b"")
    assert len(_evaluate(tmp_path)) == 1
    assert (tmp_path / "cells" / CELL / "metrics.json").is_file()


def test_several_taken_cells_are_named_first_one_then_a_count(toy, tmp_path: Path) -> None:
    _evaluate(tmp_path, seeds=(0, 1, 2))
    with pytest.raises(ConfigError) as caught:
        _evaluate(tmp_path, seeds=(0, 1, 2))
    assert str(caught.value) == (
        f"out {tmp_path}: cell {CELL} (and 2 more) already holds a result, perhaps of another "
        "encoder; pass overwrite=True to replace it, or another out")


def test_a_skipped_cell_of_another_encoder_refuses_nothing(toy, tmp_path: Path) -> None:
    _cell_record(tmp_path, {"id": "toy-hard-encoder-s0", "task": "toy", "setting": "hard",
                            "method": "encoder", "encoder": "other"}, status="skipped")
    assert len(_evaluate(tmp_path)) == 1


def test_a_bench_cell_of_no_encoder_is_named_so(toy, tmp_path: Path) -> None:
    _cell_record(tmp_path, {"id": "toy-easy-pixels-s0", "task": "toy", "setting": "easy",
                            "method": "pixels"})
    with pytest.raises(ConfigError, match=re.escape(
            "cell toy-easy-pixels-s0 holds a result of another encoder (no encoder, weights not "
            "recorded), not this call's (toy_task:MeanBrightness (in memory), ")):
        _evaluate(tmp_path)


def test_a_record_of_no_weights_is_refused_though_the_call_records_none(tmp_path: Path) -> None:
    # no weights recorded on either side says nothing of whether the encoders are the same
    _cell_record(tmp_path, {"id": "x", "task": "toy", "setting": "easy", "method": "encoder",
                            "encoder": "spec:a"})
    with pytest.raises(ConfigError, match=r"^out .*: cell x holds a result of another encoder "
                                          r"\(spec:a, weights not recorded\), not this call's "
                                          r"\(spec:b, weights not recorded\)"):
        _refuse_other_weights(tmp_path, "spec:b", {})


def test_weights_of_an_encoder_that_did_not_build_are_named_so(tmp_path: Path) -> None:
    _cell_record(tmp_path, {"id": "x", "task": "toy", "setting": "easy", "method": "encoder",
                            "encoder": "spec:a"}, inputs={"encoders": {"spec:a": None}})
    with pytest.raises(ConfigError, match=r"another encoder \(spec:a, does not build\), not "
                                          r"this call's \(spec:b, sha256 0123456789ab\);"):
        _refuse_other_weights(tmp_path, "spec:b", {"spec:b": "0123456789abcdef"})


def test_overwrite_removes_the_suite_list_that_would_leave_the_new_cells_out(
        toy, tmp_path: Path) -> None:
    # a bench wrote here: its suite_cells.json names earlier records, by cell id
    (tmp_path / "suite_cells.json").write_text(json.dumps(
        {"suite": "old", "cells": [], "earlier": [CELL]}))
    _evaluate(tmp_path, overwrite=True)
    assert not (tmp_path / "suite_cells.json").exists()
    assert len(mtneuro.load_results(tmp_path)) == 1


def test_overwrite_removes_links_where_the_report_was_not_what_they_point_to(
        toy, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (elsewhere / "figures").mkdir(parents=True)
    (elsewhere / "figures" / "keep.png").write_bytes(b"")
    out.mkdir()
    (out / "report_figures").symlink_to(elsewhere / "figures")
    (out / "report.html").symlink_to(tmp_path / "gone.html")  # a dangling link
    _evaluate(out, overwrite=True)
    assert not (out / "report_figures").is_symlink() and not (out / "report.html").is_symlink()
    assert (elsewhere / "figures" / "keep.png").is_file()
