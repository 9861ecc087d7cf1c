"""``mtneuro bench`` and ``mtneuro report`` from the command line (tiny task, in process)."""

from __future__ import annotations

import pytest

from mtneuro.cli.main import main

SUITE = """
name: cli
seeds: [0, 1]
grid:
  - task: tiny
    setting: a
    methods: [ok]
"""


def _run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_bench_writes_cells_and_report_then_resumes(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--out", str(out), "--quiet"], capsys)
    assert code == 0, stdout
    assert "2/2 cell(s) complete, 0 failed" in stdout
    assert (out / "report.html").is_file() and (out / "leaderboard.md").is_file()
    assert sorted(p.name for p in (out / "cells").iterdir()) == ["tiny-a-ok-s0", "tiny-a-ok-s1"]

    tiny_task.write_text("")
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--out", str(out), "--resume", "--seeds", "0",
                            "2", "--quiet"], capsys)
    assert code == 0
    assert tiny_task.read_text().split() == ["ok-2"]

    (out / "report.html").unlink()
    code, stdout, _ = _run(["report", str(out)], capsys)
    assert code == 0 and (out / "report.html").is_file()
    assert "3 cell(s)" in (out / "report.html").read_text()


def test_bench_exits_nonzero_when_a_cell_failed(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.replace("[ok]", "[ok, boom]"))
    code, stdout, stderr = _run(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--quiet"],
                                capsys)
    assert code == 1
    assert "2 failed" in stdout and "failed tiny-a-boom-s0: RuntimeError: boom at seed 0" in stderr


def test_wrong_suite_key_is_a_one_line_error(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.replace("methods:", "method:"))
    code, _, stderr = _run(["bench", "--suite", str(suite), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert stderr.count("\n") == 1 and "grid[0].method: unknown key (did you mean 'methods'?)" in stderr
    assert not (tmp_path / "o").exists()


def test_dry_run_lists_cells_with_the_user_encoder(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--encoder", "pkg:build", "--out",
                            str(tmp_path / "o"), "--dry-run"], capsys)
    assert code == 0
    assert "tiny-a-encoder-s1" in stdout and "4 cell(s)" in stdout
