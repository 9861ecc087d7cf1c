"""Two gloo processes under torchrun follow the same loss curve as one process.

MYOW with a separate candidate pool: this checks the sharding of batch and pool,
gradient averaging, the global-pool gather of the mined candidates (and their
exclusion mask) and rank-spanning BatchNorm together. MYOW-merged mining within the
batch: the gather of the raw views and the online forward of the mined samples, which
must be the same computation in one process (it once reused the batch's predictions
there: other BatchNorm statistics, loss curves 0.12 apart).

Same global batch (32), same data order, same weights at step 0; BatchNorm layers
are converted to rank-spanning BatchNorm (``convert_sync_batchnorm``; without it
each rank would normalise with its own 16-sample statistics and the curves would
differ by far more than the tolerance).

The only legitimate difference is summation order (the gradient all-reduce of two
half-batch means, statistics summed over ranks). In float32 that rounding (3e-7
in the first loss) is amplified by the training dynamics to 2e-4 after six steps
at lr 0.1, which would hide real bugs behind a loose tolerance. So the runs are in
float64, except the losses themselves, which ``normalized_mse`` always computes in
float32: measured difference at most 2.4e-7 over six steps. Tolerance: 1e-5 on
every logged loss term and every weight (with per-rank BatchNorm statistics
instead, the very first loss already differs by 3e-2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ddp_worker  # tests/ssl_train/ddp_worker.py, importable through conftest.py
import pytest
import torch

from mtneuro.errors import MtneuroError
from mtneuro.ssl.checkpoint import load_checkpoint

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
TOLERANCE = 1e-5


def run_torchrun(out: Path, *worker_args: str) -> None:
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*args, str(WORKER), str(out), *worker_args], env=env,
                          capture_output=True, text=True, check=False, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def losses(out: Path) -> list[tuple[float, float]]:
    """(total loss, mined loss) of every step."""
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [(r["loss"], r["mined_loss"]) for r in rows]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("layout", "pool_size"), [("cascaded", 32), ("merged", 0)])
def test_two_gloo_processes_match_one_process(tmp_path, layout, pool_size):
    ddp_worker.main(str(tmp_path / "single"), layout, pool_size)  # in this process: one start less
    run_torchrun(tmp_path / "ddp", layout, str(pool_size))
    single, ddp = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert len(single) == len(ddp) == 6
    assert single[0][0] != single[-1][0]  # the loss moves, so matching curves mean something
    worst = max(abs(a - b) for s, d in zip(single, ddp) for a, b in zip(s, d))
    assert worst < TOLERANCE
    p1 = torch.load(tmp_path / "single/params.pt")
    p2 = torch.load(tmp_path / "ddp/params.pt")
    for name, value in p1.items():
        if value.is_floating_point():
            assert torch.allclose(value, p2[name], atol=TOLERANCE, rtol=0), name
    # the checkpoint knows its process count: one process does not resume the 2-process run
    assert load_checkpoint(tmp_path / "ddp/checkpoint.pt")["world_size"] == 2
    assert load_checkpoint(tmp_path / "single/checkpoint.pt")["world_size"] == 1
    with pytest.raises(MtneuroError, match="written by 2 processes, this run has one process"):
        ddp_worker.main(str(tmp_path / "ddp"), layout, pool_size, resume=True)


def test_global_batchnorm_is_batchnorm_in_one_process():
    import copy

    from mtneuro.errors import ConfigError
    from mtneuro.ssl.distributed import (
        DistInfo,
        GlobalBatchNorm,
        convert_sync_batchnorm,
        local_slice,
    )

    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(144, 6), torch.nn.BatchNorm1d(6))
    converted = convert_sync_batchnorm(copy.deepcopy(plain), torch.device("cpu"))
    assert sum(isinstance(m, GlobalBatchNorm) for m in converted.modules()) == 2
    assert converted.state_dict().keys() == plain.state_dict().keys()
    x = torch.randn(5, 1, 8, 8)
    assert torch.equal(converted(x), plain(x))  # no process group: plain BatchNorm
    assert torch.equal(converted[1].running_mean, plain[1].running_mean)
    assert local_slice(8, DistInfo(rank=1, world_size=2)) == slice(4, 8)
    with pytest.raises(ConfigError, match="batch_size: 9 is not divisible by the 2 processes"):
        local_slice(9, DistInfo(rank=0, world_size=2))


@pytest.fixture
def one_process_group(tmp_path):
    """A 1-process gloo group: GlobalBatchNorm only takes its distributed path in one."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_global_batchnorm_normalises_bf16_input_in_float32(one_process_group):
    """Under autocast (amp bf16, CPU DDP) the layer gets bf16 activations: it once crashed
    (``running_mean.lerp_`` of a bf16 mean) and summed 16384 values of about 50 in bf16."""
    from mtneuro.ssl.distributed import GlobalBatchNorm

    torch.manual_seed(0)
    x = (torch.randn(16, 8, 32, 32) * 3 + 50).bfloat16().requires_grad_()
    reference, layer = torch.nn.BatchNorm2d(8), GlobalBatchNorm(8)
    expected = reference(x.detach().float())  # the same bf16 values, normalised in float32
    out = layer(x)
    assert out.dtype == torch.bfloat16 and layer.running_mean.dtype == torch.float32
    torch.testing.assert_close(out, expected.bfloat16())  # only the output's bf16 rounding
    # float32 tolerance: bf16 sums would be off in the third digit
    torch.testing.assert_close(layer.running_mean, reference.running_mean)
    torch.testing.assert_close(layer.running_var, reference.running_var)
    out.float().square().sum().backward()
    assert x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad).all()
