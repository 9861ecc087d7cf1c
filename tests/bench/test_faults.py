"""Cells that end their process: ``sys.exit`` in a cell, SIGTERM to the bench."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bench_process import started_bench

from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cell_calling_sys_exit_fails_and_the_suite_goes_on(tiny_task, tmp_path, jobs):
    """SystemExit in a cell ended the whole bench, with no record, summary or report."""
    out = tmp_path / "out"
    suite = parse_suite({"name": "t", "seeds": [0], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["exit", "ok"]}]})
    states = run_suite(expand(suite), RunOptions(out, jobs=jobs, quiet=True))
    assert {s.cell.id: s.status for s in states} == {"tiny-a-exit-s0": "failed",
                                                    "tiny-a-ok-s0": "complete"}
    record = json.loads((out / "cells/tiny-a-exit-s0/metrics.json").read_text())
    assert record["error"]["type"] == "SystemExit"
    assert record["error"]["message"] == "exited with SystemExit(4)"


_BENCH = textwrap.dedent('''
    import sys

    import tiny_task
    from mtneuro.bench.runner import RunOptions, run_suite, sigterm_as_interrupt
    from mtneuro.bench.suite import expand, parse_suite
    from mtneuro.tasks import registry

    if __name__ == "__main__":  # spawned workers import this module again
        registry.register_task(tiny_task.TASK, replace=True)
        suite = parse_suite({"name": "t", "seeds": [0], "grid": [
            {"task": "tiny", "setting": "a", "methods": ["hang", "ok"]}]})
        try:
            with sigterm_as_interrupt():  # as `mtneuro bench` runs the suite
                run_suite(expand(suite), RunOptions(sys.argv[1], jobs=2, quiet=True))
        except KeyboardInterrupt:
            sys.exit(130)
''')


def _gone(pid: int) -> bool:
    """The process ended (a zombie has ended too: only its exit status is left)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigterm_to_the_bench_stops_its_workers(tiny_task, tmp_path):
    """SIGTERM ended the bench process at once and left its worker processes running."""
    script = tmp_path / "bench.py"
    script.write_text(_BENCH)
    pid_file, log = Path(str(tiny_task) + ".pid"), tmp_path / "bench.log"
    with started_bench([sys.executable, str(script), str(tmp_path / "out")], log,
                       pid_file.is_file) as bench:
        worker = int(pid_file.read_text())
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=30) == 130, log.read_text()[-2000:]
        deadline = time.monotonic() + 10
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(worker), "the worker running the cell was left running"
