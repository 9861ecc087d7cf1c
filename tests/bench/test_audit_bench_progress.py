"""Audit of the bench's progress lines: times, counts, one line per finished cell, quiet mode."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from mtneuro.bench import progress as bench_progress
from mtneuro.bench.progress import PROGRESS_FILE, CellState, Progress, format_seconds
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.progress import publish, publishing_to

NOW = 1000.0


def _states(rows: list[tuple[str, float | None]]) -> list[CellState]:
    """One state per ``(status, wall_s)`` row, cells of one task1 grid."""
    methods = ["pca", "nmf", "byol", "myow", "supervised", "encoder"][: len(rows)]
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "task1", "setting": "roi-c1", "methods": methods}]})
    states = [CellState(cell) for cell in expand(suite)]
    for state, (status, wall_s) in zip(states, rows, strict=True):
        state.status, state.wall_s = status, wall_s
    return states


def _log_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=200)


@pytest.mark.parametrize("seconds,text", [
    (None, ""), (0.4, "0s"), (59.4, "59s"), (59.6, "1m00s"), (60, "1m00s"), (61, "1m01s"),
    (3599, "59m59s"), (3600, "1h00m"), (3661, "1h01m"), (7325, "2h02m"), (36_000, "10h00m"),
])
def test_format_seconds_known_answers(seconds: float | None, text: str):
    assert format_seconds(seconds) == text


def test_caption_counts_kept_and_skipped_cells_as_done_and_names_failures():
    states = _states([("complete", 10.0), ("earlier", 99.0), ("skipped", None),
                      ("failed", 30.0), ("running", None), ("pending", None)])
    states[4].started = NOW - 5.0
    # mean of the cells run here: (10 + 30) / 2 = 20 s; the earlier cell's 99 s is not one
    # of them. One job: 15 s left of the running cell, then 20 s for the pending one.
    caption = Progress(states, parallel=1, quiet=True).caption(now=NOW)
    assert caption == "3/6 done, 1 failed, 1 running, ETA 35s"


def test_eta_ignores_the_time_of_cells_kept_from_an_earlier_run():
    states = _states([("earlier", 1000.0), ("complete", 10.0), ("pending", None)])
    assert bench_progress.eta_text(states, parallel=1, now=NOW) == "ETA 10s"


def test_a_running_cell_past_the_mean_frees_its_job_now_not_before():
    # mean 10 s; the running cell is 25 s in: its job is free now (0 s), not 15 s ago,
    # so the pending cell ends 10 s from now
    states = _states([("complete", 10.0), ("running", None), ("pending", None)])
    states[1].started = NOW - 25.0
    assert bench_progress.eta_seconds(states, parallel=1, now=NOW) == 10.0


def test_each_finished_cell_gets_one_line_numbered_in_finishing_order():
    states = _states([("complete", 12.0), ("running", None), ("pending", None)])
    states[0].headline = {"accuracy": 0.5}
    console = _log_console()
    progress = Progress(states, parallel=1, console=console)
    progress.refresh()
    progress.refresh()  # nothing new finished: no second line
    states[1].status, states[1].wall_s, states[1].error = "failed", 75.0, "ValueError: boom"
    progress.refresh()
    assert console.file.getvalue().splitlines() == [
        f"[1/3] complete  {states[0].cell.id} 12s accuracy 0.500",
        f"[2/3] failed    {states[1].cell.id} 1m15s ValueError: boom",
    ]


def test_quiet_prints_only_notes_even_on_a_terminal():
    states = _states([("complete", 12.0), ("pending", None)])
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with Progress(states, parallel=1, quiet=True, console=console) as progress:
        assert not progress.live_mode
        progress.refresh()
        progress.note("replacing cells/x")
    assert console.file.getvalue().splitlines() == ["replacing cells/x"]


def test_headline_skips_missing_numbers_and_cuts_errors_to_80_characters():
    [state] = _states([("complete", 1.0)])
    state.headline = {"macro_f1": None, "accuracy": 0.25}
    assert bench_progress._headline_text(state) == "accuracy 0.250"
    state.error = "E" * 80
    assert bench_progress._headline_text(state) == "E" * 80
    state.error = ('monai is not installed (needed for the task-2 segmentation networks): '
                   'pip install "mtneuro[seg]"')
    cut = bench_progress._headline_text(state)  # what to do, at the end, is kept
    assert len(cut) == 80 and cut.startswith("monai is not installed")
    assert cut.endswith('pip install "mtneuro[seg]"') and " ... " in cut


def test_a_finished_cell_shows_its_result_and_wall_time_not_its_last_loop(tmp_path: Path):
    states = _states([("complete", 19.0), ("running", None)])
    done = states[0]
    done.started, done.headline = time.perf_counter() - 500.0, {"accuracy": 0.75}
    (tmp_path / done.cell.id).mkdir()
    with publishing_to(tmp_path / done.cell.id / PROGRESS_FILE):
        publish("pre-training", 399, 400, unit="steps", force=True)  # left by the finished loop
        console = Console(file=io.StringIO(), force_terminal=True, width=160)
        console.print(Progress(states, parallel=1, console=console, cells_dir=tmp_path)._table())
    row = next(line for line in console.file.getvalue().splitlines() if done.cell.id in line)
    assert "19s" in row and "accuracy 0.750" in row
    assert "pre-training" not in row and "8m20s" not in row
