"""The bench's live table ticks and shows a running cell's own progress; a log gets lines."""

from __future__ import annotations

import io
import time

from rich.console import Console

from mtneuro.bench import progress as bench_progress
from mtneuro.bench.progress import PROGRESS_FILE, CellState, Progress
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.progress import publish, publishing_to


def _states() -> list[CellState]:
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "task1", "setting": "roi-c1", "methods": ["pca", "nmf"]}]})
    return [CellState(cell) for cell in expand(suite)]


def _running(tmp_path, states: list[CellState]) -> CellState:
    state = states[0]
    state.status, state.started = "running", time.perf_counter() - 65
    (tmp_path / state.cell.id).mkdir(parents=True, exist_ok=True)
    return state


def test_table_ticks_and_shows_the_running_cells_loop(tmp_path):
    states = _states()
    state = _running(tmp_path, states)
    with publishing_to(tmp_path / state.cell.id / PROGRESS_FILE):
        publish("pre-training", 120, 400, unit="steps", rate=850.0, rate_unit="samples",
                detail="epoch 3/10, loss 0.4100", force=True)
        console = Console(file=io.StringIO(), force_terminal=True, width=160)
        table = Progress(states, parallel=1, console=console, cells_dir=tmp_path)._table()
        console.print(table)
        text = console.file.getvalue()
    assert "1m05s" in text  # elapsed of the running cell, not "0s"
    assert "pre-training 120/400 steps, 850 samples/s, epoch 3/10" in text



def test_live_table_ticks_while_a_cell_runs_without_refresh_calls(tmp_path):
    """rich redraws the table twice a second by itself: the elapsed time moves on while an
    in-process cell runs and the runner calls nothing."""
    states = _states()
    state = _running(tmp_path, states)
    state.started = time.perf_counter() - 58.9
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with Progress(states, parallel=1, console=console, cells_dir=tmp_path):
        time.sleep(2.0)
    out = console.file.getvalue()
    assert "59s" in out and "1m0" in out


def test_log_gets_a_line_per_running_cell_at_each_interval(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_progress, "LOG_INTERVAL_S", 0.05)
    states = _states()
    state = _running(tmp_path, states)
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    with publishing_to(tmp_path / state.cell.id / PROGRESS_FILE):
        publish("task-2 training", 64, 128, unit="samples", rate=20.0, detail="epoch 1/2",
                force=True)
        with Progress(states, parallel=1, console=console, cells_dir=tmp_path):
            time.sleep(0.3)
    lines = [line for line in console.file.getvalue().splitlines() if "running" in line]
    assert len(lines) >= 2
    assert f"running {state.cell.id} 1m05s: task-2 training 64/128 samples" in lines[0]
    assert states[1].cell.id not in "".join(lines)  # pending cells are not listed


def test_eta_is_the_mean_cell_time_times_the_cells_left_over_the_parallel_jobs():
    states = [state for _ in range(3) for state in _states()]  # 6 cells
    for state, (status, wall_s) in zip(states, [("complete", 10.0), ("failed", 20.0),
                                                ("running", None), ("pending", None),
                                                ("pending", None), ("skipped", None)]):
        state.status, state.wall_s = status, wall_s
    assert bench_progress.eta_seconds(states, parallel=2) == 22.5  # 15 s x 3 left / 2
    assert bench_progress.eta_seconds(states, parallel=1) == 45.0
    assert bench_progress.eta_seconds(states[2:], parallel=1) is None  # nothing timed yet
    assert bench_progress.eta_seconds(states[:2], parallel=1) == 0.0  # nothing left
