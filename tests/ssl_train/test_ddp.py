"""Two gloo processes under torchrun follow the same loss curve as one process.

Same global batch (32), same data order, same weights at step 0; BatchNorm layers
are converted to rank-spanning BatchNorm (``convert_sync_batchnorm``; without it
each rank would normalise with its own 16-sample statistics and the curves would
differ by far more than the tolerance).

The runs are in float64 and the tolerance is 1e-9 on every logged loss and every
weight. The only legitimate difference is summation order (the gradient
all-reduce of two half-batch means, statistics summed over ranks); in float32
that rounding (3e-7 in the first loss) is amplified by training dynamics to 2e-4
after six steps at lr 0.1, which would hide real bugs behind a loose tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
TOLERANCE = 1e-9


def run(args: list[str], out: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*args, str(WORKER), str(out)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def losses(out: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.timeout(300)
def test_two_gloo_processes_match_one_process(tmp_path):
    run([sys.executable], tmp_path / "single")
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
        tmp_path / "ddp")
    single, ddp = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert len(single) == len(ddp) == 6
    assert single[0] != single[-1]  # the loss moves, so matching curves mean something
    assert max(abs(a - b) for a, b in zip(single, ddp)) < TOLERANCE
    p1 = torch.load(tmp_path / "single/params.pt")
    p2 = torch.load(tmp_path / "ddp/params.pt")
    for name, value in p1.items():
        if value.is_floating_point():
            assert torch.allclose(value, p2[name], atol=TOLERANCE, rtol=0), name
