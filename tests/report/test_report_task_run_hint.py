"""``mtneuro report`` on a task command's own run folder gives the suite lines that run the
same cells, ready to copy (report walkthrough F9: a multi-seed ``neural`` run had no route to
a report but writing a suite YAML by hand)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mtneuro.bench.suite import expand, load_suite
from mtneuro.cli.main import main


@pytest.mark.parametrize(("record", "cells"), [
    ({"task": "neural", "setting": "chewie-1", "method": "raw",
      "config": {"data": "chewie-1", "method": "raw", "seed": None, "seeds": [0, 1]}},
     [("neural", "chewie-1", "raw", 0), ("neural", "chewie-1", "raw", 1)]),
    ({"task": "task3", "setting": "roi-c3", "method": "pca",
      "config": {"seeds": [2], "source": "phantom", "quick": True}},
     [("task3", "roi-c3", "pca", 2)]),
])
def test_the_suite_the_refusal_gives_runs_the_same_cells(
        tmp_path: Path, capsys: pytest.CaptureFixture, record: dict, cells: list) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(record))
    with pytest.raises(SystemExit):
        main(["report", str(run)])
    err = capsys.readouterr().err
    assert "to report it, run its settings as a suite: a YAML file holding " in err
    lines = re.findall(r"`([a-z]+: [^`]+)`", err.split("holding ", 1)[1].split(" (with", 1)[0])
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text("\n".join(lines) + "\n")
    expanded = expand(load_suite(suite_file))
    assert [(c.task, c.setting, c.method, c.seed) for c in expanded] == cells


def test_a_record_that_does_not_say_its_cells_keeps_the_general_hint(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"task": "task1"}))
    with pytest.raises(SystemExit):
        main(["report", str(run)])
    err = capsys.readouterr().err
    assert "run its settings as a suite" not in err
    assert "`mtneuro bench --suite SUITE --out NEW_DIR`" in err
