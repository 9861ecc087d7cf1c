"""Files named on the command line after the run folder checks lose nothing and fail in one
line (reliability audit, session 18): ``compare --json`` wrote over a run's ``metrics.json``
or ``checkpoint.pt``; a folder ``compare --json`` or ``report`` may not write in gave a
traceback."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from cli_probe import assert_one_line_error, invoke, tree
from permissions import deny_writing

from mtneuro.report.predictions import write_predictions


def _task1_run(folder: Path, method: str, hits: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"task": "task1", "setting": "roi-c1", "method": method, "metrics": {},
         "source": {"source": "phantom", "label": "phantom (synthetic volume)"}}))
    true = np.asarray(["CTX", "STR"] * (len(hits) // 2))
    write_predictions({"seed": [0] * len(hits), "tile": np.arange(len(hits)),
                       "z": np.arange(len(hits)), "crop": ["whole"] * len(hits), "true": true,
                       "predicted": np.where(hits.astype(bool), true, "ZI")}, folder)
    return folder


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    _task1_run(tmp_path / "a", "a", np.ones(10, dtype=int))
    _task1_run(tmp_path / "b", "b", np.r_[np.ones(5, dtype=int), np.zeros(5, dtype=int)])
    return tmp_path


@pytest.mark.parametrize("target, needle", [
    ("a/metrics.json", "exists and is not a comparison mtneuro compare wrote"),
    ("a/predictions.csv", "expected a .json file name, got .csv"),
    ("a/checkpoint.pt", "expected a .json file name, got .pt"),
])
def test_compare_json_never_replaces_a_file_it_did_not_write(two_runs: Path, target: str,
                                                             needle: str) -> None:
    (two_runs / "a" / "checkpoint.pt").write_bytes(b"a checkpoint")
    before = tree(two_runs)
    outcome = invoke(["compare", "a", "b", "--json", target], two_runs)
    assert_one_line_error(outcome, f"--json {target}", needle)
    assert tree(two_runs) == before and outcome.out == ""  # refused before comparing


def test_compare_json_replaces_its_own_earlier_comparison(two_runs: Path) -> None:
    first = invoke(["compare", "a", "b", "--json", "c.json"], two_runs)
    assert first.code == 0, first.err
    written = json.loads((two_runs / "c.json").read_text())
    assert written["kind"] == "mtneuro compare" and written["rows"][0]["difference"] == 0.5
    again = invoke(["compare", "b", "a", "--json", "c.json"], two_runs)
    assert again.code == 0, again.err
    assert json.loads((two_runs / "c.json").read_text())["rows"][0]["difference"] == -0.5


def test_compare_json_in_a_folder_it_may_not_write_fails_in_one_line_first(
        two_runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (two_runs / "locked").mkdir()
    deny_writing(monkeypatch, two_runs / "locked")
    outcome = invoke(["compare", "a", "b", "--json", "locked/c.json"], two_runs)
    assert_one_line_error(outcome, "--json locked", "cannot write in locked", "Permission denied")
    assert outcome.out == ""


def test_report_in_a_folder_it_may_not_write_fails_in_one_line(
        two_runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny_writing(monkeypatch, two_runs / "a")
    outcome = invoke(["report", "a"], two_runs)
    assert_one_line_error(outcome, "DIR a: cannot write in a", "Permission denied")


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_permission_error_after_the_checks_is_one_line_naming_the_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """A file refused later (made immutable mid-run, a temporary file of an atomic write)
    is named by the file the user asked for, not the temporary one."""
    from mtneuro.report import html

    _task1_run(tmp_path / "a", "a", np.ones(10, dtype=int))
    temporary = str(tmp_path / "a" / ".report.html.gmt_zbwi.tmp")

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(code, "refused here", temporary)

    monkeypatch.setattr(html, "build_report", refused)
    outcome = invoke(["report", "a"], tmp_path)
    assert_one_line_error(outcome, f"{tmp_path / 'a' / 'report.html'}: refused here",
                          "change its permissions")
