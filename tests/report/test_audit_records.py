"""Known answers for what a run's record says of itself (mutation audit of
mtneuro.report.results and record): schema checked on reading, the wall time counted from
the caller's start, the code version with its commit, and a failed run that leaves the
caller's folder as it was."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtneuro import __version__
from mtneuro.report import results
from mtneuro.report.record import run_and_record
from mtneuro.report.results import read_metrics, write_metrics
from mtneuro.tasks.api import Task
from mtneuro.tasks.protocol import card


@dataclass(frozen=True)
class _Config:
    setting: str = "s"
    method: str = "m"
    seeds: tuple[int, ...] = (0,)
    fail: bool = False


def _run(config: _Config, *, encoder=None):
    if config.fail:
        raise RuntimeError("failed before writing")
    return _TASK.result(config, setting="s", method="m", metrics={"score": 1.0},
                        source={"source": "none"})


_TASK = Task(name="audit", title="audit", config=_Config, run=_run,
             card=lambda config, source=None: card("audit", 1, []),
             headline=lambda metrics: {"score": metrics["score"]}, volume=False)


def test_read_metrics_reads_a_folder_and_refuses_an_unknown_schema(tmp_path):
    write_metrics(tmp_path, task="task1", metrics={"accuracy": 0.5}, wall_s=1.5,
                  source={"source": "phantom"})
    record = read_metrics(tmp_path)  # the folder, not the file
    assert (record["metrics"], record["wall_s"]) == ({"accuracy": 0.5}, 1.5)
    assert record["source"] == {"source": "phantom"}
    (tmp_path / "metrics.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(ValueError, match="schema_version 99 is not supported"):
        read_metrics(tmp_path / "metrics.json")


def _repo(path: Path) -> Path:
    """A git repository at ``path`` with one commit of ``tracked.py``."""
    path.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(path), "PATH": os.environ["PATH"]}
    (path / "tracked.py").write_text("")
    for args in (["init", "-q"], ["add", "tracked.py"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_code_version_carries_the_commit_of_the_checkout_holding_the_module(tmp_path):
    repo = _repo(tmp_path / "checkout")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True,
                          capture_output=True, check=True).stdout.strip()
    assert results.code_version(repo / "tracked.py") == f"{__version__}+{head}"
    # a package installed into the user's project/.venv: the user's commit is not ours
    site = repo / ".venv" / "site-packages"
    site.mkdir(parents=True)
    (site / "results.py").write_text("")
    assert results.code_version(site / "results.py") == __version__
    outside = tmp_path / "plain"
    outside.mkdir()
    assert results.code_version(outside / "results.py") == __version__


def test_wall_time_counts_from_the_callers_start(tmp_path):
    # the caller began 100 s ago (e.g. reading data for a bench cell): that time is counted
    result = run_and_record(_TASK, _Config(), tmp_path, started=time.perf_counter() - 100)
    assert 100 <= result.wall_s < 200
    assert 100 <= json.loads((tmp_path / "metrics.json").read_text())["wall_s"] < 200


def test_a_failed_run_keeps_a_folder_the_caller_made_and_removes_one_it_made(tmp_path):
    given = tmp_path / "given"
    given.mkdir()
    with pytest.raises(RuntimeError):
        run_and_record(_TASK, _Config(fail=True), given)
    assert given.is_dir()
    made: Path = tmp_path / "made"
    with pytest.raises(RuntimeError):
        run_and_record(_TASK, _Config(fail=True), made)
    assert not made.exists()
