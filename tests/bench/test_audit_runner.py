"""Known answers for how the runner shares the CPUs and which cells an unreachable source
skips (from a mutation audit of the runner)."""

from __future__ import annotations

import dataclasses
import os
import sys
import textwrap
from pathlib import Path

import pytest

from mtneuro.bench import runner
from mtneuro.bench.cell import run_cell
from mtneuro.bench.runner import RunOptions, run_suite
from mtneuro.bench.suite import expand, parse_suite
from mtneuro.errors import ConfigError
from mtneuro.tasks import registry
from mtneuro.tasks.registry import task_reference

#: a task whose headline is the OMP_NUM_THREADS its process saw (a file, so that spawned
#: workers import it as they import the tiny task)
ENV_TASK = textwrap.dedent('''
    import dataclasses
    import os

    import tiny_task


    def run(config, *, encoder=None):
        threads = float(os.environ.get("OMP_NUM_THREADS", "0"))
        return TASK.result(config, setting=config.setting, method=config.method,
                           metrics={"accuracy": threads}, source={"source": "phantom"})


    TASK = dataclasses.replace(tiny_task.TASK, name="envtask", run=run, figures=None)
''')


@pytest.fixture
def env_task(tiny_task: Path) -> str:
    package = Path(sys.modules["tiny_task"].__file__).parent
    (package / "envtask.py").write_text(ENV_TASK)
    sys.modules.pop("envtask", None)
    import envtask

    registry.register_task(envtask.TASK, replace=True)
    yield "envtask"
    registry.unregister_task("envtask")


def test_pool_cells_get_the_threads_of_their_share(env_task: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """2 jobs on 6 CPUs: each worker's cell runs with 6 // 2 = 3 threads."""
    monkeypatch.setattr(runner, "threads_per_job", lambda jobs: {2: 3}[jobs])
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # what the workers would inherit otherwise
    suite = parse_suite({"name": "t", "seeds": [0, 1], "grid": [
        {"task": env_task, "setting": "a", "methods": ["ok"]}]})
    states = run_suite(expand(suite), RunOptions(tmp_path / "out", jobs=2, quiet=True))
    assert [s.headline for s in states] == [{"accuracy": 3.0}, {"accuracy": 3.0}]


def test_run_cell_sets_the_threads_it_is_given(tiny_task: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    monkeypatch.setenv("MKL_NUM_THREADS", "5")
    before = torch.get_num_threads()
    (cell,) = expand(parse_suite({"name": "t", "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]}))
    try:
        torch.set_num_threads(2)
        assert run_cell(cell, task_reference("tiny"), tmp_path, threads=1)["status"] == "complete"
        assert torch.get_num_threads() == 1
        assert (os.environ["OMP_NUM_THREADS"], os.environ["MKL_NUM_THREADS"]) == ("1", "1")
    finally:
        torch.set_num_threads(before)


def test_an_unreachable_source_skips_only_cells_that_read_the_volume(
        tiny_task: Path, tmp_path: Path) -> None:
    """A task that reads no volume does not depend on the source, even one named alike."""
    import tiny_task as module

    registry.register_task(dataclasses.replace(module.TASK, name="novolume", volume=False),
                           replace=True)
    try:
        suite = parse_suite({"name": "t", "seeds": [0], "grid": [
            {"task": "tiny", "setting": "a", "methods": ["offline", "ok"]},
            {"task": "novolume", "setting": "a", "methods": ["ok"]}]})
        states = run_suite(expand(suite), RunOptions(tmp_path / "out", quiet=True))
    finally:
        registry.unregister_task("novolume")
    assert {s.cell.id: s.status for s in states} == {
        "tiny-a-offline-s0": "failed", "tiny-a-ok-s0": "skipped", "novolume-a-ok-s0": "complete"}


def test_a_bad_jobs_value_fails_before_the_output_folder_is_touched(tiny_task: Path,
                                                                   tmp_path: Path) -> None:
    """An earlier run's suite_cells.json (what its report keeps) must survive a typo."""
    out = tmp_path / "out"
    suite = parse_suite({"name": "t", "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]})
    with pytest.raises(ConfigError, match="jobs: expected 'auto' or int >= 1, got 0"):
        run_suite(expand(suite), RunOptions(out, jobs=0, quiet=True))
    assert not out.exists()


class _Job:
    """A submitit job that reports done on its second poll."""

    def __init__(self, outcome: dict, finished: list[object]) -> None:
        self.outcome, self.finished, self.polls, self.state = outcome, finished, 0, "RUNNING"

    def done(self) -> bool:
        self.polls += 1
        if self.polls > 1 and self not in self.finished:
            self.finished.append(self)
        return self.polls > 1

    def exception(self) -> None:
        return None

    def result(self) -> dict:
        return self.outcome


class _Executor:
    """Records the threads each job is given and how many were unfinished at each submit."""

    def __init__(self) -> None:
        self.jobs: list[_Job] = []
        self.finished: list[object] = []
        self.threads: list[int | None] = []
        self.unfinished: list[int] = []

    def submit(self, fn: object, cell, task: object, out: Path, *, threads: int | None) -> _Job:
        self.threads.append(threads)
        self.unfinished.append(len(self.jobs) - len(self.finished))
        outcome = {"id": cell.id, "status": "complete", "wall_s": 0.0, "headline": {},
                   "error": None}
        self.jobs.append(_Job(outcome, self.finished))
        return self.jobs[-1]


@pytest.mark.parametrize(("executor", "threads", "unfinished"), [
    ("submitit-local", [5, 5, 5], [0, 0, 0]),  # one at a time, each with 1 job's share
    ("slurm", [None, None, None], [0, 1, 2]),  # all at once; the cluster sets the CPUs
])
def test_submitit_jobs_at_once_and_their_threads(tiny_task: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 executor: str, threads: list,
                                                 unfinished: list) -> None:
    fake = _Executor()
    monkeypatch.setattr(runner, "_submitit_executor", lambda out, options: fake)
    monkeypatch.setattr(runner, "check_executor", lambda executor, params: None)  # no SLURM here
    monkeypatch.setattr(runner, "threads_per_job", lambda jobs: {1: 5}[jobs])
    monkeypatch.setattr(runner, "_POLL_S", 0.001)
    suite = parse_suite({"name": "t", "seeds": [0, 1, 2], "grid": [
        {"task": "tiny", "setting": "a", "methods": ["ok"]}]})
    states = run_suite(expand(suite), RunOptions(tmp_path / "out", jobs=1, executor=executor,
                                                 quiet=True))
    assert [s.status for s in states] == ["complete"] * 3
    assert (fake.threads, fake.unfinished) == (threads, unfinished)


def test_sigterm_becomes_a_keyboard_interrupt_in_the_block() -> None:
    import signal
    import time

    with (pytest.raises(KeyboardInterrupt, match=r"^signal 15 \(SIGTERM\)$"),
          runner.sigterm_as_interrupt()):
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # Python runs the handler between bytecodes
            time.sleep(0.01)
