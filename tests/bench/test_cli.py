"""``mtneuro bench`` and ``mtneuro report`` from the command line (tiny task, in process)."""

from __future__ import annotations

import json

import pytest

from mtneuro.bench.cell import cell_config
from mtneuro.bench.suite import expand, load_suite
from mtneuro.cli.main import main
from mtneuro.tasks.registry import get_task

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
    record = json.loads((out / "cells" / "tiny-a-ok-s0" / "metrics.json").read_text())
    # every cell carries a protocol card; a task without a card builder says it is unchecked
    assert record["protocol"] == {"name": "unchecked", "version": 0}
    assert record["deviations"] == ["no protocol card for TinyConfig: comparability with published "
                                    "numbers is not checked"]

    tiny_task.write_text("")
    code, stdout, stderr = _run(["bench", "--suite", str(suite), "--out", str(out), "--resume",
                                 "--seeds", "0", "2", "--quiet"], capsys)
    assert code == 0
    assert tiny_task.read_text().split() == ["ok-2"]
    # seed 1 is not a cell of this run: its record stays, out of the report, which says so
    assert "2/2 cell(s) complete" in stdout
    assert ("left out 1 record(s) in cells/ of an earlier run, not cells of suite 'cli' run "
            "here since (suite_cells.json): tiny-a-ok-s1; kept on disk") in stderr
    assert (out / "cells/tiny-a-ok-s1/metrics.json").is_file()

    (out / "report.html").unlink()
    code, stdout, _ = _run(["report", str(out)], capsys)  # reads the same list
    assert code == 0 and (out / "report.html").is_file()
    page = (out / "report.html").read_text()
    assert "2 cell(s)" in page and "Left out 1 record(s) in cells/" in page
    assert "tiny-a-ok-s1" not in page.split("Left out")[1].split("</p>", 1)[1]
    assert "Left out 1 record(s)" in (out / "leaderboard.md").read_text()


@pytest.mark.parametrize(("suite_jobs", "flag", "expected"), [
    ("", [], 1), ("jobs: auto\n", [], "auto"), ("jobs: auto\n", ["--jobs", "3"], 3),
    ("", ["--jobs", "auto"], "auto"),
])
def test_jobs_come_from_the_suite_unless_given(tiny_task, tmp_path, capsys, monkeypatch, suite_jobs, flag,
                                               expected):
    from mtneuro.bench import runner

    seen = []
    monkeypatch.setattr(runner, "run_suite", lambda cells, options: seen.append(options.jobs) or [])
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_jobs + SUITE)
    _, _, stderr = _run(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"), "--quiet", *flag],
                           capsys)
    assert seen == [expected], stderr  # (the report then finds no cell: run_suite is a stand-in)


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
    assert stderr.count("\n") == 1 and "grid[0].method: unknown key (did you mean 'grid[0].methods'?)" in stderr
    assert not (tmp_path / "o").exists()


def test_dry_run_lists_cells_with_the_user_encoder(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    encoder = "torch.nn:Flatten"  # the dry run builds it and runs a batch: (B, 1, H, W) -> (B, D)
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--encoder", encoder, "--out",
                            str(tmp_path / "o"), "--dry-run"], capsys)
    assert code == 0
    assert "tiny-a-encoder-s1" in stdout and "4 cell(s)" in stdout


def test_encoder_names_the_tasks_it_skips_and_fails_where_none_probes_images(tmp_path, capsys):
    code, stdout, stderr = _run(["bench", "--suite", "quick", "--encoder", "resnet18", "--out",
                                 str(tmp_path / "q"), "--dry-run"], capsys)
    assert code == 0 and "task1-roi-c1-encoder-s0" in stdout
    assert "--encoder: scored on task1, task3; not on task2, neural" in stderr
    code, stdout, stderr = _run(["bench", "--suite", "neural", "--encoder", "resnet18", "--out",
                                 str(tmp_path / "n"), "--dry-run"], capsys)
    assert code == 2 and stderr.count("\n") == 1
    assert "--encoder: suite 'neural' has no task that probes an image encoder" in stderr
    assert "mtneuro.evaluate" in stderr and not (tmp_path / "n").exists()


@pytest.mark.parametrize("flag", [["--source", "nope"], ["--source-param", "bogus=1"]])
def test_source_options_for_a_suite_that_reads_no_volume_are_refused(tmp_path, capsys, flag):
    code, _, stderr = _run(["bench", "--suite", "neural", *flag, "--out", str(tmp_path / "n"),
                            "--dry-run"], capsys)
    assert code == 2 and stderr.count("\n") == 1
    assert f"{flag[0]}: no task of suite 'neural' reads the volume (its tasks: neural)" in stderr


def test_paper_dry_run_prints_every_cells_protocol_card(tmp_path, capsys):
    code, stdout, _ = _run(["bench", "--suite", "paper", "--out", str(tmp_path / "o"), "--dry-run"],
                           capsys)
    assert code == 0
    card_of: dict[str, str] = {}
    for line in stdout.splitlines():
        if not line.startswith(" "):
            cell = line.split()[0]
        card_of[cell] = card_of.get(cell, "") + line + "\n"
    assert "protocol task1-paper v1: the published protocol, comparable" in card_of[
        "task1-roi-c1-supervised-s0"]
    assert "random init instead of ImageNet weights" in card_of["task2-2d-4class-fpn-s0"]
    assert "sub-volumes B, C and D" in card_of["task1-roi-c3-pca-s0"]
    cells = [line for line in stdout.splitlines() if not line.startswith(" ")]
    cards = [line for line in stdout.splitlines() if line.startswith("    protocol ")
             or line == "    (protocol card as above)"]
    assert len(cards) == len(cells) - 1  # one card per cell; the last line counts the cells


def test_quick_suite_cards_list_its_deviations():
    for cell in expand(load_suite("quick")):
        task = get_task(cell.task)
        card = task.protocol_card(cell_config(task, cell))
        assert card["deviations"], cell.id  # nothing in the quick suite is the published protocol
        if cell.task != "neural":
            assert any(d.startswith("data: the synthetic phantom") for d in card["deviations"])


def test_resume_calls_kept_cells_done_earlier_in_their_lines_and_the_summary(tiny_task, tmp_path,
                                                                             capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    assert _run(["bench", "--suite", str(suite), "--out", str(out), "--quiet"], capsys)[0] == 0
    code, stdout, stderr = _run(["bench", "--suite", str(suite), "--out", str(out), "--resume",
                                 "--seeds", "0", "2"], capsys)
    assert code == 0
    assert "done earlier tiny-a-ok-s0" in stderr and "skipped" not in stderr
    assert "complete  tiny-a-ok-s2" in stderr
    assert "2/2 cell(s) complete (1 done earlier), 0 failed, 0 skipped" in stdout


def test_dry_run_resume_marks_what_the_run_would_do_with_each_cell(tiny_task, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    assert _run(["bench", "--suite", str(suite), "--out", str(out), "--quiet"], capsys)[0] == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(SUITE + "    params: {width: 2}\n")
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--out", str(out), "--resume",
                            "--dry-run", "--seeds", "0", "2"], capsys)
    assert code == 0
    cells = [line for line in stdout.splitlines() if line.startswith("tiny-")]
    assert cells == ["tiny-a-ok-s0  (source phantom)  [done earlier (kept)]",
                     "tiny-a-ok-s2  (source phantom)  [to run]"]
    assert stdout.splitlines()[-1] == "2 cell(s) in suite 'cli': 1 to run, 1 done earlier (kept)"
    code, stdout, _ = _run(["bench", "--suite", str(changed), "--out", str(out), "--resume",
                            "--dry-run"], capsys)
    assert code == 0 and "tiny-a-ok-s1  (source phantom)  [rerun: params.width changed]" in stdout
    assert stdout.splitlines()[-1] == "2 cell(s) in suite 'cli': 2 to run (2 rerun: config changed)"
    assert tiny_task.read_text().split() == ["ok-0", "ok-1"], "a dry run runs nothing"
    # a record that is JSON but no object (a traceback before) is a cell to run again
    (out / "cells" / "tiny-a-ok-s0" / "metrics.json").write_text('"x"')
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--out", str(out), "--resume",
                            "--dry-run"], capsys)
    assert code == 0 and ("tiny-a-ok-s0  (source phantom)  [to run: its record could not be "
                          "read]") in stdout


def test_neural_dry_run_marks_recordings_not_downloaded_and_counts_what_would_run(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: nd\nseeds: [0]\ngrid:\n"
                     "  - {task: neural, setting: chewie-1, methods: [pca, raw]}\n"
                     "  - {task: neural, setting: rat-v1, methods: [pca, raw]}\n")
    code, stdout, _ = _run(["bench", "--suite", str(suite), "--out", str(tmp_path / "o"),
                            "--dry-run"], capsys)
    assert code == 0 and "preset" not in stdout  # the cells have none: no "preset None"
    cells = [line for line in stdout.splitlines() if line.startswith("neural-")]
    assert cells == ["neural-chewie-1-pca-s0  (recording chewie-1)",  # packaged: always here
                     "neural-chewie-1-raw-s0  (recording chewie-1)",
                     "neural-rat-v1-pca-s0  (recording rat-v1)  [not downloaded: will be skipped]",
                     "neural-rat-v1-raw-s0  (recording rat-v1)  [not downloaded: will be skipped]"]
    assert stdout.splitlines()[-1] == (
        "4 cell(s) in suite 'nd': 2 to run, 2 skipped (not downloaded: rat-v1; get one with "
        "`mtneuro data download NAME`)")
