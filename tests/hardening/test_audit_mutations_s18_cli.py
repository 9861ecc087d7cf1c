"""Command-line cases a mutation audit of the session-18 changes found unchecked: a replaced
run kept through every way a new one can stop, the out-of-memory line with its resume hint,
checks made in the order that names the user's mistake first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from cli_probe import assert_one_line_error, invoke

from mtneuro.cli.run_folder import REPLACED, prepare_run_folder
from mtneuro.report.predictions import write_predictions


def test_a_task1_run_killed_after_its_metrics_drops_the_old_one(tmp_path):  # rf2
    from mtneuro.cli.run_folder import _settle_replaced
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"task": "task1", "old": 1}')
    prepare_run_folder(out, "task", overwrite=True, set_aside=True)
    (out / "metrics.json").write_text('{"task": "task1", "new": 1}')  # last record, killed
    assert _settle_replaced(out, "task") is False
    assert not (out / REPLACED).exists() and '"new"' in (out / "metrics.json").read_text()


SUITE = ("name: s\nseeds: [0]\n"
         "grid:\n  - {task: task1, setting: roi-c1, methods: [pca], preset: quick}\n")


def test_a_suite_interrupted_while_its_report_is_built_keeps_the_old_one(
        tmp_path, monkeypatch):  # bn1
    from mtneuro.bench import runner
    from mtneuro.report import html
    (tmp_path / "s.yaml").write_text(SUITE)
    out = tmp_path / "run"
    (out / "cells" / "task1-roi-c1-pca-s0").mkdir(parents=True)
    (out / "cells" / "task1-roi-c1-pca-s0" / "metrics.json").write_text('{"old": 1}')
    (out / "report.html").write_text("old report")

    def one_cell(cells, options):
        (out / "cells" / "task1-roi-c1-pca-s0").mkdir(parents=True)
        (out / "cells" / "task1-roi-c1-pca-s0" / "metrics.json").write_text('{"new": 1}')
        return []

    def interrupted(out_dir, left_out):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_suite", one_cell)
    monkeypatch.setattr(html, "build_report", interrupted)
    outcome = invoke(["bench", "--suite", "s.yaml", "--quiet", "--overwrite", "--out", "run"],
                     tmp_path)
    assert outcome.code == 130
    assert (out / REPLACED / "report.html").read_text() == "old report"


def test_a_dry_run_over_a_finished_suite_without_flags_is_refused(tmp_path):  # bn3
    (tmp_path / "s.yaml").write_text(SUITE)
    (tmp_path / "run" / "cells" / "task1-roi-c1-pca-s0").mkdir(parents=True)
    (tmp_path / "run" / "cells" / "task1-roi-c1-pca-s0" / "metrics.json").write_text("{}")
    outcome = invoke(["bench", "--suite", "s.yaml", "--dry-run", "--out", "run"], tmp_path)
    assert_one_line_error(outcome, "already holds a run")


def _task1_run(folder: Path, method: str) -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"task": "task1", "setting": "roi-c1", "method": method, "metrics": {},
         "source": {"source": "phantom"}}))
    true = np.asarray(["CTX", "STR"] * 5)
    write_predictions({"seed": [0] * 10, "tile": np.arange(10), "z": np.arange(10),
                       "crop": ["whole"] * 10, "true": true, "predicted": true}, folder)


def test_compare_json_takes_an_upper_case_suffix(tmp_path):  # cj1
    _task1_run(tmp_path / "a", "a")
    _task1_run(tmp_path / "b", "b")
    outcome = invoke(["compare", "a", "b", "--json", "c.JSON"], tmp_path)
    assert outcome.code == 0, outcome.err


def test_out_of_memory_keeps_the_resume_hint_and_its_first_line(tmp_path, monkeypatch):  # mn10 mn11
    from mtneuro.cli import main
    from mtneuro.report import html

    def too_big(*args, **kwargs):
        raise MemoryError("can't allocate memory\nsecond line")

    (tmp_path / "run").mkdir()
    monkeypatch.setattr(html, "build_report", too_big)
    monkeypatch.setattr(main, "_resume_hint", lambda argv: "error: its checkpoint is kept")
    outcome = invoke(["report", "run"], tmp_path)
    assert outcome.code == 1 and len(outcome.err_lines) == 2, outcome.err
    assert outcome.err_lines[0] == (
        "error: out of memory (can't allocate memory); lower the batch size or the input / "
        "crop size, or run on a machine with more memory")
    assert outcome.err_lines[1] == "its checkpoint is kept"


def test_a_neural_suite_with_a_source_says_no_task_reads_it(tmp_path):  # su2
    (tmp_path / "s.yaml").write_text("name: s\nseeds: [0]\nsource: phantm\ngrid:\n"
                                     "  - {task: neural, setting: chewie-1, methods: [pca]}\n")
    outcome = invoke(["bench", "--suite", "s.yaml", "--dry-run", "--out", "o"], tmp_path)
    assert_one_line_error(outcome, "suite key source: no task of suite 's' reads the volume")


def test_an_empty_preset_is_refused(tmp_path):  # su7
    (tmp_path / "s.yaml").write_text("name: s\nseeds: [0]\ngrid:\n"
                                     "  - {task: task1, setting: roi-c1, methods: [pca], "
                                     "preset: ''}\n")
    outcome = invoke(["bench", "--suite", "s.yaml", "--dry-run", "--out", "o"], tmp_path)
    assert_one_line_error(outcome, "grid[0].preset: unknown task1 preset ''")


def test_a_bad_range_is_named_before_an_unwritable_cache(tmp_path, monkeypatch):  # pr4
    from permissions import deny_writing
    (tmp_path / "locked").mkdir()
    deny_writing(monkeypatch, tmp_path / "locked")
    outcome = invoke(["data", "fetch", "--source", "phantom", "--cache", "locked/c.zarr",
                      "--z", "5:5", "--quiet"], tmp_path)
    assert_one_line_error(outcome, "--z: range '5:5' is empty")
