"""A ``--resume`` with a changed suite, stopped before it reran a changed cell: the cell's
earlier record, of the old definition, was reported as the new suite's (``suite_cells.json``
named only the cells); and the interrupted run did not say its report was the previous one."""

from __future__ import annotations

import json

import pytest

import mtneuro
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.cli.main import main
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, load_records
from mtneuro.report.suite_cells import SUITE_CELLS

STALE = ("left out 1 record(s) in cells/ defined otherwise than in suite 't' run here since "
         "(suite_cells.json), not rerun yet: tiny-a-ok-s1 (params.width 8, now 4); "
         "kept on disk, not averaged in")


def _suite(*entries):
    return parse_suite({"name": "t", "grid": [{"task": "tiny", "setting": "a", **entry}
                                              for entry in entries]})


def _width_4_stopped_before_seed_1(out):
    """Seeds 0 and 1 of width 8, then a --resume with width 4 stopped after rerunning seed 0."""
    run_suite(expand(_suite({"methods": ["ok"], "seeds": [0, 1], "params": {"width": 8}})),
              RunOptions(out, quiet=True, suite="t"))
    changed = _suite({"methods": ["ok"], "seeds": [0], "params": {"width": 4}},
                     {"methods": ["interrupt"], "seeds": [0]},
                     {"methods": ["ok"], "seeds": [1], "params": {"width": 4}})
    with pytest.raises(KeyboardInterrupt):
        run_suite(expand(changed), RunOptions(out, resume=True, quiet=True, suite="t"))


def test_a_record_the_suite_now_defines_otherwise_is_left_out(tiny_task, tmp_path):
    out = tmp_path / "out"
    _width_4_stopped_before_seed_1(out)
    stale = json.loads((out / "cells/tiny-a-ok-s1/metrics.json").read_text())
    assert stale["cell"]["params"] == {"width": 8}, "the stopped run left seed 1's old record"
    left_out: list[str] = []
    (table,) = build_tables(load_records(out, left_out=left_out))
    assert (table.rows[0].n, table.rows[0].cells) == (1, ["tiny-a-ok-s0"])
    assert left_out == ["tiny-a-ok-s1"]
    build_report(out)
    assert STALE[0].upper() + STALE[1:] + "." in (out / "leaderboard.md").read_text()
    # the API reads the same records
    assert [(row["method"], row["n"]) for row in mtneuro.load_results(out).table()] == [("ok", 1)]
    # a suite_cells.json written before definitions were kept: every cell of it is reported
    data = json.loads((out / SUITE_CELLS).read_text())
    del data["definitions"]
    (out / SUITE_CELLS).write_text(json.dumps(data))
    (table,) = build_tables(load_records(out))
    assert table.rows[0].n == 2


def test_the_report_command_names_the_changed_key_and_both_values(tiny_task, tmp_path):
    from click.testing import CliRunner

    from mtneuro.cli.report import report

    out = tmp_path / "out"
    _width_4_stopped_before_seed_1(out)
    outcome = CliRunner().invoke(report, [str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert STALE in outcome.output
    # once --resume has rerun it, the cell is the suite's and reported
    run_suite(expand(_suite({"methods": ["ok"], "seeds": [0, 1], "params": {"width": 4}})),
              RunOptions(out, resume=True, quiet=True, suite="t"))
    outcome = CliRunner().invoke(report, [str(out)])
    assert "left out" not in outcome.output
    (table,) = build_tables(load_records(out))
    assert table.rows[0].n == 2


SUITE = """
name: cli
seeds: [0]
grid:
  - task: tiny
    setting: a
    methods: [{methods}]
"""


def _bench(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, capsys.readouterr().err


def test_an_interrupted_bench_says_its_report_is_the_previous_runs(tiny_task, tmp_path, capsys):
    suite, out = tmp_path / "suite.yaml", tmp_path / "out"
    suite.write_text(SUITE.format(methods="interrupt"))
    code, stderr = _bench(["bench", "--suite", str(suite), "--out", str(out), "--quiet"], capsys)
    assert code == 130 and "previous run" not in stderr, "no report yet: none to call stale"
    suite.write_text(SUITE.format(methods="ok"))
    main(["bench", "--suite", str(suite), "--out", str(out), "--quiet", "--resume"])
    assert (out / "report.html").is_file()
    suite.write_text(SUITE.format(methods="ok, interrupt"))
    code, stderr = _bench(["bench", "--suite", str(suite), "--out", str(out), "--quiet",
                           "--resume"], capsys)
    assert code == 130
    assert (f"{out / 'report.html'} and leaderboard.md are those of the previous run until "
            f"`mtneuro report {out}` or --resume rebuilds them") in stderr
