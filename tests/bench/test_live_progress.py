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
    # 3 cells of 15 s on 2 jobs: two at once, then the third (not 3 x 15 / 2)
    assert bench_progress.eta_seconds(states, parallel=2) == 30.0
    assert bench_progress.eta_seconds(states, parallel=1) == 45.0
    assert bench_progress.eta_seconds(states[2:], parallel=1) is None  # nothing timed yet
    assert bench_progress.eta_seconds(states[:2], parallel=1) == 0.0  # nothing left


def test_eta_counts_what_is_left_of_running_cells_and_when_a_job_is_free():
    states = [state for _ in range(2) for state in _states()]  # 4 cells
    now = 1000.0
    for state, (status, wall_s, started) in zip(states, [
            ("complete", 100.0, None), ("running", None, now - 60), ("running", None, now - 150),
            ("pending", None, None)]):
        state.status, state.wall_s, state.started = status, wall_s, started
    # on 2 jobs: 40 s left of one running cell; the other is past the mean, so the pending
    # cell takes its job now and ends last
    assert bench_progress.eta_seconds(states, parallel=2, now=now) == 100.0
    # one job: the 40 s left of its running cell, then the pending one
    one_job = [states[0], states[1], states[3]]
    assert bench_progress.eta_seconds(one_job, parallel=1, now=now) == 140.0
    # the last cell left: a second job does not halve its time
    assert bench_progress.eta_seconds(states[:2], parallel=2, now=now) == 40.0


def _task3_state(headline: dict) -> CellState:
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "task3", "setting": "roi-c1", "methods": ["pca"]}]})
    return CellState(expand(suite)[0], status="complete", wall_s=3.0, headline=headline)


def test_task3_live_line_shows_the_held_out_r2_not_the_in_sample_one():
    """Task 3's headline starts with the in-sample R² (the published table's definition);
    `mtneuro task3` prints the held-out one, and so must the live line."""
    both = _task3_state({"r2_vessel_fraction": 0.254, "r2_axon_fraction": 0.3,
                         "r2_test_vessel_fraction": 0.19, "r2_test_axon_fraction": 0.2})
    assert bench_progress._headline_text(both) == "held-out R² vessel_fraction 0.190"
    only_in_sample = _task3_state({"r2_vessel_fraction": 0.254})
    assert bench_progress._headline_text(only_in_sample) == "r2_vessel_fraction 0.254 (in-sample)"
    other = _states()[0]
    other.headline = {"accuracy": 0.6}
    assert bench_progress._headline_text(other) == "accuracy 0.600"


def test_a_cell_kept_by_resume_is_done_earlier_in_its_line_and_the_table():
    states = _states()
    states[0].status, states[0].wall_s, states[0].headline = "earlier", 19.0, {"accuracy": 0.6}
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    progress = Progress(states, parallel=1, console=console)
    progress.refresh()
    assert console.file.getvalue().splitlines() == [
        f"[1/2] done earlier {states[0].cell.id} 19s accuracy 0.600"]
    assert progress.caption() == "1/2 done"
    table = Console(file=io.StringIO(), force_terminal=True, width=160)
    table.print(progress._table())
    assert "done earlier" in table.file.getvalue() and "skipped" not in table.file.getvalue()
