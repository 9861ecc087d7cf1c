"""The Python API leaves a notebook's global state as it was: torch's, NumPy's and Python's
random states (runs seed them; encoders built after a call all got seed 0's weights), and
matplotlib's backend and settings (the report's figures switched the backend to Agg and
restyled every later plot)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import mtneuro
from mtneuro.ssl.random_state import kept_random_state
from mtneuro.tasks.registry import get_task


def _seed_all() -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)


def _draws() -> tuple[torch.Tensor, np.ndarray, float]:
    return torch.rand(3), np.random.rand(3), random.random()


def _assert_same_draws(got: tuple, expected: tuple) -> None:
    assert torch.equal(got[0], expected[0]), "torch's global generator moved"
    assert np.array_equal(got[1], expected[1]), "NumPy's global generator moved"
    assert got[2] == expected[2], "Python's random moved"


def _image_encoder() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_evaluate_draws_nothing_from_the_callers_generators(tmp_path):
    encoder = _image_encoder()
    _seed_all()
    expected = _draws()  # what the caller draws next without the call
    _seed_all()
    mtneuro.evaluate(encoder, tasks=["task1/roi-c1", "task3/roi-c1"], seeds=[0, 1],
                     params={"z_step": 64}, out=tmp_path)
    _assert_same_draws(_draws(), expected)


def test_encoders_built_after_each_call_differ():
    """The audit's loop: each encoder built after a call had seed 0's weights."""
    first = []
    for _ in range(2):
        encoder = _image_encoder()
        first.append(encoder[0].weight.detach().clone())
        mtneuro.evaluate(encoder, tasks="task3/roi-c1", params={"z_step": 64})
    assert not torch.equal(first[0], first[1])


def test_a_task_run_with_myow_pre_training_keeps_them_too(packaged_data, tmp_path):
    """``Task.execute``: MYOW's pre-training seeds torch, NumPy and ``random``."""
    from mtneuro.data.neural import RECORDINGS

    with np.load(packaged_data / RECORDINGS["chewie-1"][0]) as npz:
        arrays = {k: npz[k][npz["trial"] < 40] for k in npz.files}
    np.savez(tmp_path / "slice-bin0.10.npz", **arrays)
    task = get_task("neural")
    config = task.make_config("quick", {"data": str(tmp_path / "slice-bin0.10.npz"),
                                        "method": "myow", "steps": 15, "seed": 3})
    _seed_all()
    expected = _draws()
    _seed_all()
    first = task.execute(config).headline
    _assert_same_draws(_draws(), expected)
    assert task.execute(config).headline == first  # the run's own seeding is as before


@pytest.mark.skipif(not hasattr(torch.cuda, "_lazy_seed_tracker") or torch.cuda.is_initialized(),
                    reason="CUDA started, or a torch that queues no seeds")
def test_a_cuda_seed_queued_in_the_block_is_dropped():
    """Before CUDA starts, ``torch.manual_seed`` queues its seed for CUDA: the caller's first
    CUDA draws must not come from the run's seed."""
    tracker = torch.cuda._lazy_seed_tracker
    before = dict(vars(tracker))
    with kept_random_state():
        torch.manual_seed(5)
        assert tracker.manual_seed_all_cb is not before["manual_seed_all_cb"]
    assert vars(tracker) == before


FIGURES = textwrap.dedent("""
    import hashlib, sys
    from pathlib import Path
    import matplotlib
    import torch
    from torch import nn
    import mtneuro
    from mtneuro.report import build_report

    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def figures(out):
        mtneuro.evaluate(encoder, tasks="task1/roi-c1", params={"z_step": 64}, out=out)
        build_report(out)
        return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(Path(out).rglob("*.png"))}

    plain = figures(Path(sys.argv[1]) / "plain")
    # a notebook's own backend and styling
    matplotlib.use("svg")
    user = {"font.size": 13.0, "axes.facecolor": "black", "lines.linewidth": 5.0,
            "figure.dpi": 72.0}
    matplotlib.rcParams.update(user)
    styled = figures(Path(sys.argv[1]) / "styled")
    assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
    assert {k: matplotlib.rcParams[k] for k in user} == user
    assert len(plain) >= 3 and styled == plain, (plain, styled)  # the figures as the CLI's
    assert "matplotlib.pyplot" not in sys.modules  # no pyplot figures left open
    print("ok")
""")


def test_figures_leave_the_backend_and_settings_and_ignore_the_users_style(tmp_path):
    """Known answer: figures drawn under a notebook's backend and styling are byte for byte
    those drawn with matplotlib's defaults, and both stay the notebook's."""
    proc = subprocess.run([sys.executable, "-c", FIGURES, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
