"""The live table's ETA never reads a bare "0s" while cells still run (fake clock, no sleeps).

A running cell past the mean cell time has an unknown remainder: the caption then says the
estimate is a lower bound, or unknown when nothing else is left.
"""

from __future__ import annotations

from types import SimpleNamespace

from mtneuro.bench.progress import CellState, Progress, eta_text
from mtneuro.bench.suite import expand, parse_suite

NOW = 1000.0


def _states(rows: list[tuple[str, float | None, float | None]]) -> list[CellState]:
    """One state per ``(status, wall_s, seconds running)`` row."""
    methods = ["pca", "nmf", "byol", "myow", "supervised", "encoder"][: len(rows)]
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "task1", "setting": "roi-c1", "methods": methods}]})
    states = [CellState(cell) for cell in expand(suite)]
    for state, (status, wall_s, running_s) in zip(states, rows, strict=True):
        state.status, state.wall_s = status, wall_s
        state.started = None if running_s is None else NOW - running_s
    return states


def test_a_cell_running_past_the_mean_makes_the_eta_unknown_not_zero():
    states = _states([("complete", 10.0, None), ("running", None, 25.0)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA unknown (1 running past the mean 10s)"
    caption = Progress(states, parallel=1, quiet=True).caption(now=NOW)
    assert caption == "1/2 done, 1 running, ETA unknown (1 running past the mean 10s)"
    assert "ETA 0s" not in caption


def test_with_other_work_left_the_eta_of_an_overrun_is_a_lower_bound():
    # mean 100 s; one cell 150 s in (remainder unknown), one 60 s in (40 s left), one pending
    states = _states([("complete", 100.0, None), ("running", None, 150.0),
                      ("running", None, 60.0), ("pending", None, None)])
    assert eta_text(states, parallel=2, now=NOW) == "ETA at least 1m40s"


def test_within_the_mean_the_eta_is_the_plain_estimate():
    states = _states([("complete", 100.0, None), ("running", None, 60.0),
                      ("pending", None, None)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA 2m20s"  # 40 s left, then 100 s
    # a fraction of a second left is not "0s" either
    almost = _states([("complete", 10.0, None), ("running", None, 9.8)])
    assert eta_text(almost, parallel=1, now=NOW) == "ETA <1s"


def test_no_eta_before_a_cell_is_timed_or_once_nothing_is_left():
    assert eta_text(_states([("running", None, 5.0), ("pending", None, None)]), 1, NOW) is None
    done = _states([("complete", 10.0, None), ("failed", 3.0, None)])
    assert eta_text(done, parallel=1, now=NOW) is None
    assert Progress(done, parallel=1, quiet=True).caption(now=NOW) == "1/2 done, 1 failed"


def test_the_live_table_caption_uses_the_rule(monkeypatch):
    from mtneuro.bench import progress as bench_progress

    states = _states([("complete", 10.0, None), ("running", None, 25.0)])
    # the fake clock, for this module only
    monkeypatch.setattr(bench_progress, "time", SimpleNamespace(perf_counter=lambda: NOW))
    table = Progress(states, parallel=1, quiet=True)._table()
    assert table.caption == "1/2 done, 1 running, ETA unknown (1 running past the mean 10s)"


def test_a_finished_cell_that_started_long_ago_is_no_overrun():
    # only running cells can overrun: a complete cell's start time (kept by the runner)
    # is far in the past, yet the pending cell's estimate is plain
    states = _states([("complete", 10.0, 500.0), ("pending", None, None)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA 10s"
    failed = _states([("failed", 10.0, 500.0), ("pending", None, None)])
    assert eta_text(failed, parallel=1, now=NOW) == "ETA 10s"


def test_a_cell_running_exactly_the_mean_counts_as_past_it():
    # its remainder is 0 in the estimate, so the estimate is only a lower bound
    states = _states([("complete", 10.0, None), ("running", None, 10.0),
                      ("pending", None, None)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA at least 10s"
    alone = _states([("complete", 10.0, None), ("running", None, 10.0)])
    assert eta_text(alone, parallel=1, now=NOW) == "ETA unknown (1 running past the mean 10s)"


def test_an_eta_that_rounds_to_one_second_is_shown_as_one_second():
    # 0.7 s left prints as "1s", as format_seconds rounds it: not "<1s"
    states = _states([("complete", 10.0, None), ("running", None, 9.3)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA 1s"
    # the same with a second cell past the mean: a lower bound, not "unknown"
    overrun = _states([("complete", 10.0, None), ("running", None, 9.3),
                       ("running", None, 12.0)])
    assert eta_text(overrun, parallel=2, now=NOW) == "ETA at least 1s"


def test_the_caption_is_as_at_the_time_it_is_given(monkeypatch):
    from mtneuro.bench import progress as bench_progress

    # the clock reads 500 s later than NOW: by then the running cell is past the mean
    monkeypatch.setattr(bench_progress, "time", SimpleNamespace(perf_counter=lambda: NOW + 500))
    states = _states([("complete", 100.0, None), ("running", None, 60.0)])
    progress = Progress(states, parallel=1, quiet=True)
    assert progress.caption(now=NOW) == "1/2 done, 1 running, ETA 40s"
    assert progress.caption() == "1/2 done, 1 running, ETA unknown (1 running past the mean 1m40s)"


def _two_tasks(rows: list[tuple[str, str, float | None, float | None]]) -> list[CellState]:
    """One state per ``(task, status, wall_s, seconds running)`` row."""
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "task1", "setting": "roi-c1", "methods": ["pca", "nmf", "byol"]},
        {"task": "task2", "setting": "2d-4class", "methods": ["unet", "fpn", "pan"]}]})
    by_task: dict[str, list[CellState]] = {}
    for cell in expand(suite):
        by_task.setdefault(cell.task, []).append(CellState(cell))
    states = []
    for task, status, wall_s, running_s in rows:
        state = by_task[task].pop(0)
        state.status, state.wall_s = status, wall_s
        state.started = None if running_s is None else NOW - running_s
        states.append(state)
    return states


def test_a_cell_is_expected_to_take_as_long_as_the_cells_of_its_own_task():
    # task 1 cells took 10 s, a task-2 cell 100 s: a running task-2 cell 60 s in has 40 s
    # left (the mean of all, 40 s, called it overdue), a pending one 100 s after it
    states = _two_tasks([("task1", "complete", 10.0, None), ("task1", "complete", 10.0, None),
                         ("task2", "complete", 100.0, None), ("task2", "running", None, 60.0),
                         ("task2", "pending", None, None)])
    assert eta_text(states, parallel=1, now=NOW) == "ETA 2m20s"


def test_an_overdue_cell_is_estimated_from_its_current_loop_and_called_a_lower_bound():
    # no task-2 cell has ended: the 10 s task-1 mean calls the one running 60 s overdue; its
    # loop is a quarter done, so at least 3 x 60 s are left (was "at least" the 10 s of the
    # pending cell, the same line for minutes)
    states = _two_tasks([("task1", "complete", 10.0, None), ("task2", "running", None, 60.0),
                         ("task1", "pending", None, None)])
    quarter = {states[1].cell.id: 0.25}
    assert eta_text(states, 1, NOW, lambda s: quarter.get(s.cell.id)) == "ETA at least 3m10s"
    assert eta_text(states, 1, NOW) == "ETA at least 10s"  # no loop known: as before


def test_the_live_caption_reads_a_running_cells_loop_from_what_it_publishes(tmp_path):
    import json

    from mtneuro.bench.progress import PROGRESS_FILE

    states = _two_tasks([("task1", "complete", 10.0, None), ("task2", "running", None, 60.0)])
    folder = tmp_path / states[1].cell.id
    folder.mkdir()
    (folder / PROGRESS_FILE).write_text(json.dumps(
        {"what": "training", "done": 30, "total": 40, "unit": "steps"}))
    progress = Progress(states, parallel=1, quiet=True, cells_dir=tmp_path)
    assert progress.loop_fraction(states[1]) == 0.75 and progress.loop_fraction(states[0]) is None
    assert progress.caption(now=NOW) == "1/2 done, 1 running, ETA at least 20s"
    (folder / PROGRESS_FILE).write_text(json.dumps({"what": "scoring", "done": 3}))  # no total
    assert progress.caption(now=NOW) == (
        "1/2 done, 1 running, ETA unknown (1 running past the mean 10s)")
