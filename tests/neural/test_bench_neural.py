"""The neural bench suite: every catalogued recording, absent ones skipped with the command to get them."""

import json

import pytest

from mtneuro.bench.cell import cell_config, run_cell
from mtneuro.bench.suite import expand, load_suite
from mtneuro.cli.main import main
from mtneuro.data.neural import RECORDINGS
from mtneuro.report.html import build_report
from mtneuro.tasks.registry import get_task


@pytest.fixture
def nothing_downloaded(tmp_path, monkeypatch):
    """No $MTNEURO_DATA and an empty user cache: only the packaged chewie-1 is present."""
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_suite_covers_every_loadable_recording_all_methods_three_seeds():
    cells = expand(load_suite("neural"))
    settings = {c.setting for c in cells}
    assert settings == set(RECORDINGS) - {"mihi-2"}  # mihi-2 exists only as a raw MATLAB file
    assert set(get_task("neural").settings) == settings  # list_tasks offers what can run
    assert {c.method for c in cells} == {"myow", "byol", "supervised", "pca", "raw"}
    assert {c.seed for c in cells} == {0, 1, 2} and {c.task for c in cells} == {"neural"}
    assert len(cells) == len(settings) * 5 * 3
    task = get_task("neural")
    assert all(type(cell_config(task, c)).__name__ == "NeuralConfig" for c in cells)


def test_absent_recording_is_skipped_with_the_download_command(nothing_downloaded, tmp_path):
    cell = next(c for c in expand(load_suite("neural")) if c.setting == "chewie-2" and c.method == "raw")
    outcome = run_cell(cell, get_task("neural"), tmp_path / "run")
    assert outcome["status"] == "skipped" and "mtneuro data download chewie-2" in outcome["error"]
    record = json.loads((tmp_path / "run" / "cells" / cell.id / "metrics.json").read_text())
    assert record["status"] == "skipped" and "mtneuro data download chewie-2" in record["skip_reason"]
    paths = build_report(tmp_path / "run")
    markdown = paths["markdown"].read_text()
    assert "## Skipped cells" in markdown and cell.id in markdown and "Failed cells" not in markdown


def test_cli_names_the_download_command_for_an_absent_recording(nothing_downloaded, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["neural", "--data", "mihi-1", "--method", "raw", "--out", str(tmp_path / "x")])
    assert stop.value.code != 0
    err = capsys.readouterr().err.strip()
    assert "mtneuro data download mihi-1" in err and len(err.splitlines()) == 1


def test_a_raw_only_recording_says_so_before_any_download_hint(nothing_downloaded, tmp_path,
                                                              capsys):
    with pytest.raises(SystemExit) as stop:
        main(["neural", "--data", "mihi-2", "--method", "raw", "--out", str(tmp_path / "x")])
    assert stop.value.code != 0
    err = capsys.readouterr().err.strip()
    assert "binning it is not implemented" in err and "data download" not in err
    assert len(err.splitlines()) == 1


def test_bench_cli_reports_skipped_cells_once_per_reason(nothing_downloaded, tmp_path, capsys):
    suite = tmp_path / "absent.yaml"
    suite.write_text("name: absent\nseeds: [0, 1]\ngrid:\n  - {task: neural, setting: chewie-2, methods: [raw]}\n")
    main(["bench", "--suite", str(suite), "--out", str(tmp_path / "run"), "--quiet"])  # no SystemExit: no failure
    out = capsys.readouterr()
    assert "0/2 cell(s) complete, 0 failed, 2 skipped" in out.out
    assert out.err.count("skipped 2 cell(s)") == 1 and "mtneuro data download chewie-2" in out.err
