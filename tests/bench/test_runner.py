"""The suite runner on a tiny task: records, failures, resume, interrupts, executors."""

from __future__ import annotations

import json
import os
import time

import pytest

from mtneuro.bench import runner
from mtneuro.bench.progress import Progress
from mtneuro.bench.runner import RunOptions, resolve_jobs, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.errors import ConfigError


def _runs(log) -> list[str]:
    return sorted(log.read_text().split())


def _suite(methods=("ok", "boom"), seeds=(0, 1), **entry):
    return parse_suite({"name": "t", "seeds": list(seeds),
                        "grid": [{"task": "tiny", "setting": "a", "methods": list(methods), **entry}]})


def _record(out, cell_id):
    return json.loads((out / "cells" / cell_id / "metrics.json").read_text())


def test_cells_are_recorded_and_a_failed_cell_does_not_stop_the_suite(tiny_task, tmp_path):
    out = tmp_path / "out"
    states = run_suite(expand(_suite()), RunOptions(out, quiet=True))
    assert {s.cell.id: s.status for s in states} == {
        "tiny-a-ok-s0": "complete", "tiny-a-ok-s1": "complete",
        "tiny-a-boom-s0": "failed", "tiny-a-boom-s1": "failed",
    }
    ok = _record(out, "tiny-a-ok-s1")
    assert ok["schema_version"] == 2 and ok["bench_schema_version"] == 1
    assert ok["status"] == "complete" and ok["headline"] == {"accuracy": pytest.approx(0.6)}
    assert ok["cell"]["method"] == "ok" and ok["cell"]["seed"] == 1
    assert ok["config"] == {"method": "ok", "setting": "a", "seeds": [1], "width": 1,
                            "source": "phantom", "source_params": {}, "encoder": None}
    assert ok["source"]["source"] == "phantom"
    assert ok["inputs"] == {"source": "phantom", "params": {}}
    assert (ok["task"], ok["setting"], ok["method"]) == ("tiny", "a", "ok")
    assert ok["code_version"] and ok["wall_s"] >= 0 and ok["figures"] == ["curve.png"]
    assert (out / "cells/tiny-a-ok-s1/curve.png").is_file()
    failed = _record(out, "tiny-a-boom-s0")
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "RuntimeError" and failed["error"]["message"] == "boom at seed 0"
    assert "Traceback" in failed["error"]["traceback"]


def test_resume_runs_only_incomplete_or_changed_cells(tiny_task, tmp_path, capsys):
    out = tmp_path / "out"
    run_suite(expand(_suite()), RunOptions(out, quiet=True))
    assert _runs(tiny_task) == ["boom-0", "boom-1", "ok-0", "ok-1"]
    tiny_task.write_text("")
    states = run_suite(expand(_suite()), RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["boom-0", "boom-1"]  # complete cells were kept
    # "done earlier", not "skipped": that is a cell whose data is not here
    assert [s.status for s in states if s.cell.method == "ok"] == ["earlier", "earlier"]
    assert states[0].headline == {"accuracy": pytest.approx(0.5)}
    tiny_task.write_text("")
    capsys.readouterr()
    run_suite(expand(_suite(methods=("ok",), params={"width": 2})), RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["ok-0", "ok-1"]  # same ids, changed definition: rerun
    lines = capsys.readouterr().err.splitlines()  # said even when quiet: records are replaced
    assert lines == [f"params.width changed since the earlier run: rerunning tiny-a-ok-s{seed}"
                     for seed in (0, 1)]


def test_resume_says_why_it_reruns_a_cell_with_a_failed_or_unreadable_record(
        tiny_task, tmp_path, capsys):
    from mtneuro.bench.plan import why_new

    out = tmp_path / "out"
    run_suite(expand(_suite()), RunOptions(out, quiet=True))
    (out / "cells/tiny-a-ok-s1/metrics.json").write_text('{"status": "compl')  # cut short
    cells = expand(_suite())
    assert [why_new(out, c) for c in cells] == [
        None, "its record could not be read", "it failed earlier", "it failed earlier"]
    capsys.readouterr()
    tiny_task.write_text("")
    run_suite(cells, RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["boom-0", "boom-1", "ok-1"]
    assert capsys.readouterr().err.splitlines() == [
        "its record could not be read: rerunning tiny-a-ok-s1",
        "it failed earlier: rerunning tiny-a-boom-s0",
        "it failed earlier: rerunning tiny-a-boom-s1"]


def test_interrupt_stops_and_resume_finishes_the_rest(tiny_task, tmp_path):
    out = tmp_path / "out"
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok", "interrupt", "later"]}]})
    with pytest.raises(KeyboardInterrupt):
        run_suite(expand(suite), RunOptions(out, quiet=True))
    assert (out / "cells/tiny-a-ok-s0/metrics.json").is_file()
    assert not (out / "cells/tiny-a-interrupt-s0/metrics.json").exists()
    assert not (out / "cells/tiny-a-later-s0").exists()
    tiny_task.write_text("")
    resumed = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok", "later"]}]})
    run_suite(expand(resumed), RunOptions(out, resume=True, quiet=True))
    assert _runs(tiny_task) == ["later-0"]


def test_parallel_processes(tiny_task, tmp_path):
    out = tmp_path / "out"
    states = run_suite(expand(_suite(seeds=(0, 2))), RunOptions(out, jobs=2, quiet=True))
    assert {s.cell.id: s.status for s in states} == {
        "tiny-a-ok-s0": "complete", "tiny-a-ok-s2": "complete",
        "tiny-a-boom-s0": "failed", "tiny-a-boom-s2": "failed",
    }
    assert _record(out, "tiny-a-ok-s2")["headline"]["accuracy"] == pytest.approx(0.7)
    assert _record(out, "tiny-a-ok-s0")["host"]["pid"] != os.getpid(), "ran in a worker process"


def test_a_pool_cell_runs_and_is_timed_only_once_a_worker_has_it(tiny_task, tmp_path,
                                                                monkeypatch):
    """The pool marks a queued future running as soon as it enters its call queue (workers
    + 1 of them): handed all cells at once, 2 workers showed 5 running and cells' clocks
    started while they waited. The live table must count and time only cells a worker runs."""
    running_seen: list[int] = []
    refresh = Progress.refresh

    def counting(self):
        running_seen.append(sum(s.status == "running" for s in self.states))
        refresh(self)

    elapsed: dict[str, float] = {}
    finish = runner._finish

    def timing(state, outcome):
        elapsed[state.cell.id] = time.perf_counter() - state.started
        finish(state, outcome)

    monkeypatch.setattr(Progress, "refresh", counting)
    monkeypatch.setattr(runner, "_finish", timing)
    states = run_suite(expand(_suite(methods=("slow",), seeds=range(6))),
                       RunOptions(tmp_path / "out", jobs=2, quiet=True))
    assert {s.status for s in states} == {"complete"}
    assert max(running_seen) == 2
    # the first two also wait for their worker process to start; the others start at once
    for state in states[2:]:
        # (a cell queued behind another would show about 1.5 s more: the slow cell's sleep)
        assert elapsed[state.cell.id] < state.wall_s + 1.0, (state.cell.id, state.wall_s)


def test_a_dead_worker_fails_only_its_own_cell(tiny_task, tmp_path, capsys):
    """A worker killed (SIGKILL, as by the out-of-memory killer) broke the pool and every
    cell in it was recorded failed with the same message: the cells beside it run again,
    each alone, and only the one that ends its worker again fails, saying how."""
    out = tmp_path / "out"
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["kill"]},
        {"task": "tiny", "setting": "b", "methods": ["slow"]},
        {"task": "tiny", "setting": "a", "methods": ["ok", "die"]}]})
    states = run_suite(expand(suite), RunOptions(out, jobs=2, quiet=True))
    status = {s.cell.id: s.status for s in states}
    assert status == {"tiny-a-kill-s0": "failed", "tiny-b-slow-s0": "complete",
                      "tiny-a-ok-s0": "complete", "tiny-a-die-s0": "failed"}
    error = _record(out, "tiny-a-kill-s0")["error"]
    assert error["type"] == "WorkerDied"
    assert error["message"] == "worker process died (signal 9, SIGKILL) running this cell alone"
    assert _record(out, "tiny-a-die-s0")["error"]["message"] == (
        "worker process died (exit code 3) running this cell alone")
    assert _runs(tiny_task).count("kill-0") == 2, "tried again, alone"
    assert "a worker process died: the cells it ran beside run again" in capsys.readouterr().err


def test_auto_jobs_are_one_process_per_available_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(runner, "available_cpus", lambda: 4)
    assert resolve_jobs("auto", 10, cuda=False) == 4
    assert resolve_jobs("auto", 3, cuda=False) == 3, "no more processes than pending cells"
    assert resolve_jobs("auto", 0, cuda=False) == 1
    assert resolve_jobs("auto", 10, cuda=True) == 1, "cells would share the one GPU"
    assert resolve_jobs(2, 10, cuda=True) == 2, "a number is taken as given"
    # more processes than cells would leave cores idle: each gets cpus // jobs threads
    assert resolve_jobs(4, 2, cuda=False) == 2
    assert resolve_jobs(4, 0, cuda=False) == 1
    for bad in (0, -1, "two", True, 1.5):
        with pytest.raises(ConfigError, match="jobs: expected 'auto' or int >= 1"):
            resolve_jobs(bad, 10)


def test_auto_jobs_run_cells_in_worker_processes(tiny_task, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "available_cpus", lambda: 2)
    out = tmp_path / "out"
    states = run_suite(expand(_suite(seeds=(0,))), RunOptions(out, jobs="auto", quiet=True))
    assert {s.status for s in states} == {"complete", "failed"}
    assert _record(out, "tiny-a-ok-s0")["host"]["pid"] != os.getpid(), "ran in a worker process"


def test_bad_jobs_fail_before_anything_runs(tiny_task, tmp_path):
    with pytest.raises(ConfigError, match="jobs: expected 'auto' or int >= 1, got 0"):
        run_suite(expand(_suite()), RunOptions(tmp_path / "o", jobs=0, quiet=True))
    assert _runs(tiny_task) == []


@pytest.mark.extra("cluster")
def test_submitit_local_executor(tiny_task, tmp_path):
    out = tmp_path / "out"
    states = run_suite(expand(_suite(seeds=(0,))),
                       RunOptions(out, jobs=2, executor="submitit-local", quiet=True))
    assert {s.cell.id: s.status for s in states} == {"tiny-a-ok-s0": "complete", "tiny-a-boom-s0": "failed"}
    record = _record(out, "tiny-a-ok-s0")
    assert record["host"]["pid"] > 0 and record["headline"]["accuracy"] == pytest.approx(0.5)
    assert _record(out, "tiny-a-boom-s0")["error"]["message"] == "boom at seed 0"
    assert any((out / "submitit").iterdir()), "submitit wrote its job folders"


def test_unknown_task_or_setting_fails_before_anything_runs(tiny_task, tmp_path):
    bad_task = parse_suite({"name": "t", "grid": [{"task": "tiny2", "setting": "a", "methods": ["ok"]}]})
    with pytest.raises(ConfigError, match="unknown task 'tiny2' \\(did you mean 'tiny'"):
        run_suite(expand(bad_task), RunOptions(tmp_path / "o", quiet=True))
    bad_setting = _suite(setting="c")
    with pytest.raises(ConfigError, match="unknown tiny setting 'c'; valid: a, b"):
        run_suite(expand(bad_setting), RunOptions(tmp_path / "o", quiet=True))
    assert _runs(tiny_task) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_cells_of_a_source_found_unreachable_are_skipped_not_retried(tiny_task, tmp_path, jobs):
    """Each cell spent the source's whole retry budget again (43 s for 3 cells against a
    refused port, ~2 min a cell against a server that never answers)."""
    out = tmp_path / "out"
    suite = parse_suite({"name": "t", "seeds": [0, 1, 2], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["offline", "ok"]},
        {"task": "tiny", "setting": "b", "methods": ["ok"],
         "params": {"source_params": {"seed": 5}}}]})  # another source: runs
    states = run_suite(expand(suite), RunOptions(out, jobs=jobs, quiet=True))
    status = {s.cell.id: s.status for s in states}
    # cells are handed out in order: the first (with 2 workers, the first two) try the source
    tried = {f"tiny-a-offline-s{seed}" for seed in range(jobs)}
    assert {i for i, s in status.items() if s == "failed"} == tried
    skipped = sorted(f"tiny-a-{m}-s{seed}" for m in ("offline", "ok") for seed in (0, 1, 2)
                     if f"tiny-a-{m}-s{seed}" not in tried)
    assert [i for i in skipped if status[i] == "skipped"] == skipped
    reason = _record(out, skipped[0])["skip_reason"]  # named by whichever tried cell ended first
    assert reason in {f"source phantom unreachable (cell {cell} tried); not tried again"
                      for cell in tried}
    assert all(status[f"tiny-b-ok-s{seed}"] == "complete" for seed in (0, 1, 2))
    assert len(_runs(tiny_task)) == jobs + 3  # the tried cells and setting b's: nothing else


def test_what_changed_names_every_changed_key_by_its_dotted_path():
    from mtneuro.report.cell_definitions import changed_keys

    before = {"seed": 0, "params": {"steps": 200, "lr": 0.1}, "tag": None}
    now = {"seed": 1, "params": {"steps": 100, "lr": 0.1, "wd": 0.5}, "tag": None}
    assert changed_keys(before, now) == ["params.steps", "params.wd", "seed"]
    assert changed_keys(before, before) == []  # the encoder file, then, is what changed
    assert changed_keys(None, now) == ["config"]
