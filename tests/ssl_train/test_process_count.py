"""What the number of torchrun processes changes: a checkpoint resumes only under the count
that wrote it, a node runs at most one process per visible GPU, and a process killed by a
signal is named as the cause of a failed launch (not a survivor's symptom)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.ssl.settings import TrainSettings, resume_problem

SETTINGS = TrainSettings(epochs=1, batch_size=8, lr=0.1)
STATE = {"method_name": "myow", "settings": dataclasses.asdict(SETTINGS)}


def test_another_process_count_is_refused_naming_both_counts():
    # each process draws its own views: 2 -> 1 processes would not continue the same run
    assert resume_problem({**STATE, "world_size": 2}, "myow", SETTINGS) == (
        "it was written by 2 processes, this run has one process; each process draws its own "
        "views, so resume it with torchrun --nproc_per_node 2")
    assert resume_problem({**STATE, "world_size": 1}, "myow", SETTINGS, world_size=4) == (
        "it was written by one process, this run has 4 processes; each process draws its own "
        "views, so resume it with one process (no torchrun)")
    assert resume_problem({**STATE, "world_size": 2}, "myow", SETTINGS, world_size=2) is None
    assert resume_problem(STATE, "myow", SETTINGS, world_size=2) is None  # not stored then


def test_more_processes_than_gpus_is_named_before_cuda_is_touched(monkeypatch):
    from mtneuro.ssl import distributed

    set_to = []
    monkeypatch.setattr(distributed, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", set_to.append)
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "2")  # torchrun --nproc_per_node 3 on a 2-GPU node
    with pytest.raises(ConfigError, match=r"^device cuda: this process needs GPU 2 \(LOCAL_RANK "
                                          r"2\) but 2 GPU\(s\) are visible; run at most 2 "):
        distributed.init_distributed("cuda")
    assert set_to == []
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.init_distributed("cuda").device == torch.device("cuda", 1)
    assert set_to == [1]


_KILLED_LOG = """[rank0]: RuntimeError: [gloo/pair.cc:545] Read error: Connection reset by peer
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 12633)  (SIGTERM)
Root Cause (first observed failure):
[0]:
  time      : 2026-12-06_15:41:33
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 12634)  (SIGKILL)
  error_file: <N/A>
"""


def test_a_killed_process_is_named_not_the_survivors_symptom(tmp_path):
    from mtneuro.bench.ddp import _failure_message

    path = tmp_path / "torchrun.log"
    path.write_text(_KILLED_LOG)
    first = _failure_message(path, 2, 1).splitlines()[0]
    assert first == ("SSL pre-training under torchrun (2 processes) failed: the process of rank 1 "
                     f"was killed (SIGKILL) (log: {path})")
    # torch before 2026 named the signal on the traceback line only
    older = _KILLED_LOG.replace("-9 (pid: 12634)  (SIGKILL)", "-9 (pid: 12634)").replace(
        "  error_file: <N/A>", "  traceback : Signal 9 (SIGKILL) received by PID 12634")
    path.write_text(older)
    assert "failed: the process of rank 1 was killed (SIGKILL)" in _failure_message(path, 2, 1)
    path.write_text(_KILLED_LOG.replace("-9 (pid: 12634)  (SIGKILL)", "-9 (pid: 12634)"))
    assert "failed: the process of rank 1 was killed (signal 9)" in _failure_message(path, 2, 1)
    # a root cause that exited with an error of its own keeps that error
    path.write_text(_KILLED_LOG.replace("-9 (pid: 12634)  (SIGKILL)", "2 (pid: 12634)"))
    assert "failed: RuntimeError: [gloo/pair.cc:545]" in _failure_message(path, 2, 1)
