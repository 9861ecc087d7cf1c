"""Report and leaderboard rebuilt from cell files, with published rows kept apart."""

from __future__ import annotations

import re
import shutil

import pytest

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.errors import DataError
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, load_records


def _run(out, grid, seeds=(0, 1, 2)):
    suite = parse_suite({"name": "r", "seeds": list(seeds), "grid": grid})
    return run_suite(expand(suite), RunOptions(out, quiet=True))


@pytest.fixture
def suite_dir(tiny_task, tmp_path):
    out = tmp_path / "out"
    _run(out, [{"task": "task1", "setting": "roi-c1", "methods": ["ok", "boom"]}])
    return out


def test_leaderboard_rows_hold_mean_and_std_over_seeds(suite_dir):
    (table,) = build_tables(load_records(suite_dir))
    assert (table.task, table.setting, table.metrics[0]) == ("task1", "roi-c1", "accuracy")
    ok = next(r for r in table.rows if r.kind == "ours" and r.method == "ok")
    assert ok.n == 3 and ok.failed == 0
    assert ok.values["accuracy"].mean == pytest.approx(0.6)
    assert ok.values["accuracy"].std == pytest.approx(0.1)  # sample std of 0.5, 0.6, 0.7
    assert ok.data_source == "phantom (synthetic volume)"
    boom = next(r for r in table.rows if r.kind == "ours" and r.method == "boom")
    assert boom.n == 0 and boom.failed == 3 and not boom.values
    published = [r for r in table.rows if r.kind != "ours"]
    assert {r.kind for r in published} == {"paper, real volume"}
    assert {r.method for r in published} >= {"Supervised", "BYOL", "MYOW", "MYOW-m", "PCA", "NMF"}
    assert all(r.data_source.startswith("real volume") for r in published)
    assert table.rows.index(ok) < table.rows.index(published[0]), "our rows come first"


def test_report_files_label_every_row(suite_dir):
    paths = build_report(suite_dir)
    page = paths["html"].read_text()
    markdown = paths["markdown"].read_text()
    # Published block is separated and every published row carries its source label.
    assert "published numbers (not ours; labelled by source)" in page
    assert page.count("[paper, real volume]") == 7
    assert "0.600 ± 0.100" in page and "phantom (synthetic volume)" in page
    assert "tiny-a" not in page and "task1-roi-c1-boom-s0" in page and "boom at seed 0" in page
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert all(("| ours |" in line) or ("| published: " in line) or line.startswith("| method")
               for line in lines)
    assert re.search(r"\| ok \| ours \| phantom \(synthetic volume\) \| 3 \| unknown: not checked \| "
                     r"0\.600 ± 0\.100 \|", markdown)
    assert re.search(r"\| Supervised \| published: paper, real volume \| real volume .*\|\s*\|\s*"
                     r"0\.880 ± 0\.030 \|", markdown)
    # Every image is embedded (the page keeps them when copied alone): the summary chart and
    # each complete cell's figure, captioned with its cell.
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 1 + 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "task1-roi-c1-ok-s0: curve.png" in page


def test_report_merges_cells_from_separate_runs(tiny_task, tmp_path):
    first, second = tmp_path / "machine1", tmp_path / "machine2"
    _run(first, [{"task": "tiny", "setting": "a", "methods": ["ok"]}], seeds=(0,))
    _run(second, [{"task": "tiny", "setting": "a", "methods": ["ok"]}], seeds=(1,))
    shutil.copytree(second / "cells", first / "cells", dirs_exist_ok=True)
    (table,) = build_tables(load_records(first))
    assert table.rows[0].n == 2 and table.rows[0].values["accuracy"].mean == pytest.approx(0.55)


def test_report_of_an_empty_directory_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="no readable cell records"):
        build_report(tmp_path)
