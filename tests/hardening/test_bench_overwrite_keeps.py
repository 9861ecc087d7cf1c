"""``bench --overwrite`` loses nothing until the new suite has its report, as the other run
commands' ``--overwrite`` (reliability audit, session 18: a suite interrupted 6 s in had
deleted the old suite's 8 finished cells and its report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_probe import invoke, tree

from mtneuro.cli.run_folder import REPLACED, prepare_run_folder

SUITE = ("name: s\nseeds: [0]\n"
         "grid:\n  - {task: task1, setting: roi-c1, methods: [pca], preset: quick}\n")


def _finished_suite(out: Path) -> None:
    (out / "cells" / "task1-roi-c1-pca-s0").mkdir(parents=True)
    (out / "cells" / "task1-roi-c1-pca-s0" / "metrics.json").write_text('{"old": 1}')
    (out / "report.html").write_text("old report")
    (out / "leaderboard.md").write_text("old leaderboard")


def _suite_that(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    from mtneuro.bench import runner
    from mtneuro.report import html

    monkeypatch.setattr(runner, "run_suite", run)

    def report(out_dir: Path, left_out: list) -> dict[str, str]:
        (out_dir / "report.html").write_text("new report")
        return {"html": str(out_dir / "report.html"), "markdown": "leaderboard.md"}

    monkeypatch.setattr(html, "build_report", report)


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "s.yaml").write_text(SUITE)
    _finished_suite(tmp_path / "run")
    return tmp_path / "run"


def test_a_suite_interrupted_before_its_first_cell_puts_the_old_one_back(tmp_path, monkeypatch):
    out = _setup(tmp_path)
    before = tree(out)

    def interrupted(cells: list, options: Any) -> list:
        assert sorted(p.name for p in out.iterdir()) == [REPLACED]  # set aside, not deleted
        raise KeyboardInterrupt

    _suite_that(monkeypatch, interrupted)
    outcome = invoke(["bench", "--suite", "s.yaml", "--quiet", "--overwrite", "--out", "run"],
                     tmp_path)
    assert outcome.code == 130, outcome.err
    assert tree(out) == before and (out / "report.html").read_text() == "old report"


def test_a_suite_interrupted_after_a_cell_keeps_both_and_says_where(tmp_path, monkeypatch):
    out = _setup(tmp_path)

    def one_cell_then_interrupted(cells: list, options: Any) -> list:
        (out / "cells" / "task1-roi-c1-pca-s0").mkdir(parents=True)
        (out / "cells" / "task1-roi-c1-pca-s0" / "metrics.json").write_text('{"new": 1}')
        raise KeyboardInterrupt

    _suite_that(monkeypatch, one_cell_then_interrupted)
    outcome = invoke(["bench", "--suite", "s.yaml", "--quiet", "--overwrite", "--out", "run"],
                     tmp_path)
    assert outcome.code == 130 and f"kept in run/{REPLACED}" in outcome.err
    cell = Path("cells") / "task1-roi-c1-pca-s0" / "metrics.json"
    assert (out / cell).read_text() == '{"new": 1}'  # for --resume
    assert (out / REPLACED / cell).read_text() == '{"old": 1}'
    assert (out / REPLACED / "report.html").read_text() == "old report"


def test_a_suite_that_ends_with_a_failed_cell_replaces_the_old_one(tmp_path, monkeypatch):
    """It ended (exit 1 for the failed cell): its report is the one to keep."""
    from mtneuro.bench.progress import CellState

    out = _setup(tmp_path)

    def one_failed(cells: list, options: Any) -> list:
        state = CellState(cells[0])
        state.status, state.error = "failed", "RuntimeError: diverged"
        return [state]

    _suite_that(monkeypatch, one_failed)
    outcome = invoke(["bench", "--suite", "s.yaml", "--quiet", "--overwrite", "--out", "run"],
                     tmp_path)
    assert outcome.code == 1 and "failed task1-roi-c1-pca-s0" in outcome.err, outcome.err
    assert not (out / REPLACED).exists() and (out / "report.html").read_text() == "new report"
    assert not (out / "leaderboard.md").exists()  # the old suite's record went with it


def test_a_suite_killed_after_its_report_drops_the_old_one_on_the_next_start(tmp_path):
    out = _setup(tmp_path)
    prepare_run_folder(out, "bench", overwrite=True, set_aside=True)  # then killed:
    (out / "cells").mkdir()
    (out / "report.html").write_text("new report")  # its last record
    prepare_run_folder(out, "bench", resume=True)
    assert not (out / REPLACED).exists() and (out / "report.html").read_text() == "new report"
