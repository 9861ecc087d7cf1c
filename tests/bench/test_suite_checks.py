"""What a rerun keeps and reports: cells of another suite left out of the report, changed
encoder files rerun; ``params`` keys a cell sets itself and volume sources of a suite that
reads no volume refused."""

from __future__ import annotations

import json

import pytest

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, load_records


def _suite(seeds, **entry):
    return parse_suite({"name": "t", "seeds": list(seeds), "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"], **entry}]})


def test_the_report_leaves_out_cells_of_an_earlier_suite(tiny_task, tmp_path):
    """seeds [0, 1] width 8, then --resume with seeds [0] width 4: the row said n=2,
    averaging the two configs as if they were seeds."""
    out = tmp_path / "out"
    run_suite(expand(_suite((0, 1), params={"width": 8})), RunOptions(out, quiet=True))
    run_suite(expand(_suite((0,), params={"width": 4})),
              RunOptions(out, resume=True, quiet=True, suite="t"))
    left_out: list[str] = []
    (table,) = build_tables(load_records(out, left_out=left_out))
    assert table.rows[0].n == 1 and table.rows[0].cells == ["tiny-a-ok-s0"]
    assert left_out == ["tiny-a-ok-s1"]
    assert (out / "cells/tiny-a-ok-s1/metrics.json").is_file(), "kept on disk"
    build_report(out)
    markdown = (out / "leaderboard.md").read_text()
    assert ("Left out 1 record(s) in cells/ of an earlier run, not cells of suite 't' run here "
            "since (suite_cells.json): tiny-a-ok-s1; kept on disk, not averaged in.") in markdown
    # `mtneuro report DIR` says so in the terminal too, and it is no failure
    from click.testing import CliRunner

    from mtneuro.cli.report import report

    outcome = CliRunner().invoke(report, [str(out)])
    assert outcome.exit_code == 0
    assert "left out 1 record(s) in cells/ of an earlier run" in outcome.output


def test_cells_copied_in_after_the_run_are_reported(tiny_task, tmp_path):
    """Records merged from another machine's run of the suite are not of an earlier run."""
    first, second = tmp_path / "one", tmp_path / "two"
    run_suite(expand(_suite((0,))), RunOptions(first, quiet=True))
    run_suite(expand(_suite((1,))), RunOptions(second, quiet=True))
    (first / "cells/tiny-a-ok-s1").mkdir()
    (first / "cells/tiny-a-ok-s1/metrics.json").write_bytes(
        (second / "cells/tiny-a-ok-s1/metrics.json").read_bytes())
    (table,) = build_tables(load_records(first))
    assert table.rows[0].n == 2


def test_resume_reruns_an_encoder_cell_whose_file_changed(tiny_task, tmp_path, capsys):
    """Only the cell definition was compared: a new checkpoint under the same name kept
    the old numbers."""
    out, weights = tmp_path / "out", tmp_path / "enc.pt"
    weights.write_bytes(b"first")
    cells = expand(_suite((0,)), encoder=str(weights), encoder_tasks=("tiny",))
    run_suite(cells, RunOptions(out, quiet=True))
    record = json.loads((out / "cells/tiny-a-encoder-s0/metrics.json").read_text())
    assert list(record["inputs"]["files"]) == [str(weights)]
    assert len(record["inputs"]["files"][str(weights)]) == 64
    states = run_suite(cells, RunOptions(out, resume=True, quiet=True))
    assert {s.status for s in states} == {"earlier"}, "same file: kept"
    weights.write_bytes(b"second")
    capsys.readouterr()
    states = run_suite(cells, RunOptions(out, resume=True, quiet=True))
    assert {s.cell.id: s.status for s in states} == {"tiny-a-ok-s0": "earlier",
                                                    "tiny-a-encoder-s0": "complete"}
    assert capsys.readouterr().err.splitlines() == [
        "encoder file changed since the earlier run: rerunning tiny-a-encoder-s0"]


@pytest.mark.parametrize(("params", "message"), [
    ({"seeds": [3]}, ("params.seeds: [3] is set by the cell itself, from the 'seeds' of its grid "
                      "entry or suite (or --seeds); remove it from params")),
    ({"method": "x"}, ("params.method: 'x' is set by the cell itself, from its grid entry's "
                       "'methods'; remove it from params")),
    ({"source": "slice"}, ("params.source: 'slice' is set by the cell itself, from the suite's "
                           "'source' (or --source); remove it from params")),
])
def test_params_a_cell_sets_itself_are_refused(tiny_task, tmp_path, params, message):
    """The cell's own value silently replaced them."""
    with pytest.raises(ConfigError) as info:
        run_suite(expand(_suite((0,), params=params)), RunOptions(tmp_path / "o", quiet=True))
    assert str(info.value) == f"cell tiny-a-ok-s0: {message}"
    assert tiny_task.read_text() == "", "nothing ran"


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("source", "slice", "'slice'"), ("source_params", "{seed: 1}", "{'seed': 1}")])
def test_volume_source_keys_of_a_suite_that_reads_no_volume_are_refused(
        tmp_path, capsys, key, value, shown):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: n\n{key}: {value}\ngrid:\n"
                     "  - {task: neural, setting: chewie-1, methods: [pca]}\n")
    with pytest.raises(SystemExit) as info:
        main(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--dry-run"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"error: suite key {key}: no task of suite 'n' reads the volume (its tasks: neural); "
        f"remove it (got {shown})\n")
