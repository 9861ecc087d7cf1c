"""Audit tests: resume checks, the static step's inputs and EMA, rank-spanning helpers,
progress output and the bench's torchrun launcher, each against a known answer.

The two-process test starts two gloo processes on loopback (``python -c``, a file store),
as ``tests/ssl_train/test_ddp.py`` does with torchrun, but without training anything.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from ssl_train_helpers import tiny_myow

from mtneuro.errors import ConfigError, TrainingError
from mtneuro.ssl import progress
from mtneuro.ssl import settings as ssl_settings
from mtneuro.ssl.settings import RunConfig, TrainSettings, check_resume, resume_problem

SETTINGS = TrainSettings(epochs=1, batch_size=8, lr=0.1)


def _state(**settings_changes: object) -> dict:
    return {"method_name": "myow",
            "settings": dataclasses.asdict(dataclasses.replace(SETTINGS, **settings_changes))}


# -- resume checks ---------------------------------------------------------------------------------
def test_every_resumable_setting_may_change_and_no_other():
    changed = {"log_every": 3, "checkpoint_every": 2, "checkpoint_minutes": 5.0,
               "quiet": True, "retain_cpu_memory": False,
               "step": "eager", "compile_mode": "off", "prefetch_indices": False}
    assert set(changed) == set(ssl_settings.RESUMABLE_CHANGES)
    assert resume_problem(_state(), "myow", dataclasses.replace(SETTINGS, **changed)) is None
    for key, value in {"epochs": 2, "lr": 0.2, "batch_size": 16, "amp": "none"}.items():
        problem = resume_problem(_state(), "myow", dataclasses.replace(SETTINGS, **{key: value}))
        assert problem == f"{key} was {getattr(SETTINGS, key)!r}, now {value!r}"


def test_an_old_checkpoint_without_a_method_name_or_a_later_setting_resumes():
    # written before the method name / fuse_target_views were stored: they had their defaults
    state = _state()
    del state["method_name"], state["settings"]["fuse_target_views"]
    assert resume_problem(state, "byol", SETTINGS) is None
    problem = resume_problem(state, "byol", dataclasses.replace(SETTINGS, fuse_target_views=True))
    assert problem == "fuse_target_views was False, now True"  # the default it had then


def test_the_method_is_named_before_config_and_settings():
    state = {**_state(epochs=5), ssl_settings.RUN_CONFIG_KEY: {"crop": 24}}
    config = RunConfig({"crop": 32})
    assert resume_problem(state, "byol", SETTINGS, config) == "method was 'myow', now 'byol'"
    assert resume_problem(state, "myow", SETTINGS, config) == "crop was 24, now 32"
    assert resume_problem(state, "myow", SETTINGS) == "epochs was 5, now 1"


def test_config_fields_that_may_change_or_are_unknown_to_the_checkpoint_are_skipped():
    state = {**_state(), ssl_settings.RUN_CONFIG_KEY: {"crop": 32, "out_dir": "a"}}
    config = RunConfig({"crop": 32, "out_dir": "b", "later": 7}, may_change=frozenset({"out_dir"}))
    assert resume_problem(state, "myow", SETTINGS, config) is None
    # a checkpoint written before configs were stored: only its settings are compared
    assert resume_problem(_state(), "myow", SETTINGS, RunConfig({"crop": 1})) is None


def test_check_resume_raises_naming_where_problem_and_hint():
    state = {**_state(), ssl_settings.RUN_CONFIG_KEY: {"crop": 24}}
    with pytest.raises(ConfigError) as info:
        check_resume(state, "myow", SETTINGS, RunConfig({"crop": 32}), "ck.pt", "; or not")
    assert str(info.value) == "cannot resume ck.pt: crop was 24, now 32; or not"
    # no stored config: the settings differ, as before configs were stored
    with pytest.raises(TrainingError) as old:
        check_resume(_state(epochs=2), "myow", SETTINGS, RunConfig({"crop": 32}), "ck.pt")
    assert not isinstance(old.value, ConfigError)
    assert str(old.value) == "cannot resume ck.pt: epochs was 2, now 1"
    check_resume(_state(), "myow", SETTINGS, None, "ck.pt")  # nothing differs: no error


# -- the static step -------------------------------------------------------------------------------
def _static_step() -> tuple[object, torch.nn.Module]:
    from mtneuro.ssl.static_step import StaticStep

    method = tiny_myow(seed=1)
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.0)
    return StaticStep(method, optimizer, device=torch.device("cpu"), amp_dtype=None), method


def _inputs(pool: bool) -> dict[str, torch.Tensor | None]:
    gen = torch.Generator().manual_seed(0)
    views = {k: torch.rand(4, 1, 8, 8, generator=gen) for k in ("view_a", "view_b")}
    return {**views, "pool": torch.rand(6, 1, 8, 8, generator=gen) if pool else None,
            "exclude": torch.zeros(4, 6, dtype=torch.bool) if pool else None,
            "uniform": torch.rand(4, generator=gen)}


VALUES = {"lr": 0.0, "momentum": 0.25, "mined_weight": 0.5}


def test_static_step_moves_the_target_by_one_minus_momentum():
    # lr 0: the online weights stay, so one step's target is 0.25 * target + 0.75 * online
    step, method = _static_step()
    pairs = [(o, t) for online, target in method.ema_pairs()
             for o, t in zip(online.parameters(), target.parameters())]
    with torch.no_grad():  # the target starts as a copy: move it away, or any EMA keeps it
        for _, target in pairs:
            target.add_(torch.rand(target.shape, generator=torch.Generator().manual_seed(1)))
    before = [(o.detach().clone(), t.detach().clone()) for o, t in pairs]
    terms = step(_inputs(pool=True), VALUES)
    assert set(terms) >= {"loss", "mined_loss"}
    assert all(v.dtype == torch.float64 for v in terms.values())
    for (online, target), (o0, t0) in zip(pairs, before):
        assert torch.equal(online, o0)
        torch.testing.assert_close(target.detach(), 0.25 * t0 + 0.75 * o0)


def test_static_step_refuses_other_inputs_and_a_pool_that_comes_or_goes():
    step, _ = _static_step()
    inputs = _inputs(pool=True)
    with pytest.raises(ValueError, match=r"expected inputs \('view_a', 'view_b', 'pool', "
                                         r"'exclude', 'uniform'\) \(and optional view_m\), "
                                         r"got \('view_a', 'view_b'\)"):
        step({"view_a": inputs["view_a"], "view_b": inputs["view_b"]}, VALUES)
    step(inputs, VALUES)
    with pytest.raises(ValueError, match="pool was given at the first step; it must stay so"):
        step(_inputs(pool=False), VALUES)
    fresh, _ = _static_step()
    fresh(_inputs(pool=False), VALUES)
    with pytest.raises(ValueError, match="pool was absent at the first step; it must stay so"):
        fresh(_inputs(pool=True), VALUES)


def test_static_step_times_only_its_first_call(monkeypatch):
    from mtneuro.ssl import static_step

    clock = iter([0.0, 5.0, 10.0, 17.0])
    monkeypatch.setattr(static_step.time, "perf_counter", lambda: next(clock))
    step, _ = _static_step()
    step(_inputs(pool=False), VALUES)
    step(_inputs(pool=False), VALUES)
    assert step.first_call_s == 5.0


# -- rank-spanning helpers -------------------------------------------------------------------------
_RANK_SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from mtneuro.ssl import distributed as d
    rank, store, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + store, rank=rank, world_size=2)
    x = torch.load(out + "/x.pt")[rank * 3:(rank + 1) * 3].clone().requires_grad_()
    layer = d.GlobalBatchNorm(2, momentum=None).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, 0.5]))
        layer.bias.copy_(torch.tensor([1.0, -1.0]))
    ys = [layer(x), layer(x * 2)]
    sum(((y - 1) ** 2 * (torch.arange(6.0).view(3, 2) + 1)).sum() for y in ys).backward()
    summed = d.all_reduce_sum_autograd(x * (rank + 1))
    summed.sum().backward()
    torch.save({"gathered": d.all_gather_nograd(torch.tensor([[rank, 10 + rank]])),
                "mean": d.all_reduce_mean(torch.tensor([1.0 + 3 * rank])),
                "out": torch.cat(ys).detach(), "grad": x.grad, "running_mean": layer.running_mean,
                "running_var": layer.running_var}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()
""")


@pytest.mark.timeout(120)
def test_two_gloo_processes_gather_in_rank_order_and_normalise_as_one_batch(tmp_path):
    # The reference: plain BatchNorm (momentum None: cumulative average) on the 6-sample
    # batch whose blocks of 3 the two ranks hold, and a loss summed over both blocks.
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    torch.save(x, tmp_path / "x.pt")
    ranks = [subprocess.Popen([sys.executable, "-c", _RANK_SCRIPT, str(r), str(tmp_path / "store"),
                               str(tmp_path)], stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    for process in ranks:
        assert process.wait(timeout=100) == 0, process.stderr.read()[-2000:]
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    reference = torch.nn.BatchNorm1d(2, momentum=None).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor([2.0, 0.5]))
        reference.bias.copy_(torch.tensor([1.0, -1.0]))
    xr = x.clone().requires_grad_()
    outs = [reference(xr), reference(xr * 2)]
    weights = torch.cat([torch.arange(6.0).view(3, 2) + 1] * 2).double()
    sum(((y - 1) ** 2 * weights).sum() for y in outs).backward()
    for rank, result in enumerate(results):
        assert torch.equal(result["gathered"], torch.tensor([[0, 10], [1, 11]]))
        assert torch.equal(result["mean"], torch.tensor([2.5]))
        block = slice(rank * 3, (rank + 1) * 3)
        expected = torch.cat([y[block] for y in outs]).detach()
        torch.testing.assert_close(result["out"], expected)
        # plus the sum's: both ranks' outputs depend on x_r with weight r + 1, so the
        # all-reduced gradient is 2 * (r + 1) (without the backward all-reduce: r + 1)
        torch.testing.assert_close(result["grad"], xr.grad[block] + 2.0 * (rank + 1))
        torch.testing.assert_close(result["running_mean"], reference.running_mean)
        torch.testing.assert_close(result["running_var"], reference.running_var)


def test_global_batchnorm_adds_eps_so_a_constant_channel_stays_finite(tmp_path):
    import torch.distributed as dist

    from mtneuro.ssl.distributed import GlobalBatchNorm

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        x = torch.stack([torch.full((4,), 3.0), torch.arange(4.0)], dim=1)  # channel 0 constant
        out = GlobalBatchNorm(2)(x)
    finally:
        dist.destroy_process_group()
    assert torch.equal(out[:, 0], torch.zeros(4))  # 0 / sqrt(0 + eps), not 0 / 0
    torch.testing.assert_close(out[:, 1], torch.nn.BatchNorm1d(2)(x)[:, 1])


def test_converted_batchnorm_keeps_its_mode_and_frozen_weights():
    from mtneuro.ssl.distributed import GlobalBatchNorm, convert_sync_batchnorm

    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model[1].eval()
    model[1].weight.requires_grad_(False)
    converted = convert_sync_batchnorm(model, torch.device("cpu"))
    assert isinstance(converted[1], GlobalBatchNorm) and not converted[1].training
    assert [p.requires_grad for p in converted[1].parameters()] == [False, True]


def test_dist_info_and_a_device_pre_training_does_not_run_on(monkeypatch):
    from mtneuro.ssl import distributed

    assert _flags(distributed.DistInfo()) == (True, False)
    assert _flags(distributed.DistInfo(rank=1, world_size=2)) == (False, True)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.init_distributed("cpu") == distributed.DistInfo()
    monkeypatch.setattr(distributed, "resolve_device", lambda name: torch.device("mps"))
    with pytest.raises(ConfigError, match="device 'mps': pre-training runs on cpu or cuda") as info:
        distributed.init_distributed("mps")
    # a library call is told its Python spelling, a command its flag
    assert str(info.value).endswith("use device='cpu' (--device cpu)")


def _flags(info: object) -> tuple[bool, bool]:
    return info.is_main, info.enabled


# -- progress --------------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_a_partial_last_epoch_and_publishes_the_loss(monkeypatch):
    published = []
    monkeypatch.setattr(progress, "publish", lambda *a, **k: published.append((a, k)))
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    stream = io.StringIO()
    bar = progress.Progress(total_steps=5, batch_size=4, steps_per_epoch=2, stream=stream)
    bar.update(4, 4, loss=0.25, rate=10.0)
    bar.update(5, 1, loss=0.125, rate=10.0)
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["step 4/5 (epoch 2/3)",
                                                      "step 5/5 (epoch 3/3)"]
    assert [(a, k["detail"], k["force"]) for a, k in published] == [
        (("pre-training", 4, 5), "epoch 2/3, loss 0.2500", False),
        (("pre-training", 5, 5), "epoch 3/3, loss 0.1250", True)]


def test_a_resumed_run_starts_its_bar_and_mean_rate_at_the_resumed_step(monkeypatch):
    stream = _Terminal()
    bar = progress.Progress(total_steps=4, batch_size=16, steps_per_epoch=2, initial_step=2,
                            stream=stream)
    bar.update(3, 1, loss=0.5, rate=100.0)
    bar.close()
    assert "48/64" in stream.getvalue()
    clock = iter([0.0, 4.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    lines = io.StringIO()
    resumed = progress.Progress(total_steps=40, batch_size=8, steps_per_epoch=10, initial_step=30,
                                stream=lines)
    resumed.update(32, 2, loss=1.0, rate=4.0)  # 2 steps of 8 samples in 4 s, 8 to go
    assert lines.getvalue() == ("step 32/40 (epoch 4/4): loss 1.0000, 4 samples/s (mean 4), "
                                "eta 0.3 min\n")


def test_disabled_progress_writes_nothing_even_on_a_terminal():
    stream = _Terminal()
    bar = progress.Progress(total_steps=2, batch_size=4, steps_per_epoch=1, enabled=False,
                            stream=stream)
    bar.update(2, 2, loss=0.5, rate=1.0)
    bar.close()
    assert bar.bar is None and stream.getvalue() == ""


# -- the bench's torchrun launcher -----------------------------------------------------------------
def _fake_torchrun(monkeypatch, body: str) -> None:
    """torchrun stands in as ``python -c BODY CONFIG_FILE``: quick, and it sees what torchrun
    would (the config file, the environment)."""
    from mtneuro.bench import ddp

    monkeypatch.setattr(ddp, "torchrun_command",
                        lambda nproc, args: [sys.executable, "-c", body, args[-1]])


_WRITES_ENCODER = ("import os, sys, pathlib; d = pathlib.Path(sys.argv[1]).parent; "
                   "(d / 'encoder.pt').write_text(os.environ['OMP_NUM_THREADS'])")


def test_launch_pretrain_writes_the_config_and_gives_each_process_its_threads(monkeypatch,
                                                                           tmp_path):
    import yaml

    from mtneuro.bench.ddp import launch_pretrain
    from mtneuro.tasks.pretrain.config import make_config

    out = tmp_path / "pretrain"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    _fake_torchrun(monkeypatch, _WRITES_ENCODER)
    encoder = launch_pretrain(make_config("quick", {"resume": True}), 2, out, threads=6)
    assert encoder == out / "encoder.pt" and encoder.read_text() == "3"  # 6 threads / 2
    assert not (out / "stale.txt").exists()
    written = yaml.safe_load((out / "pretrain_config.yaml").read_text())
    assert (written["resume"], written["quiet"], written["out_dir"]) == (False, True,
                                                                         str(out.resolve()))
    assert (out / "torchrun.log").read_text().startswith(f"$ {sys.executable} -c ")


def test_a_launch_that_exits_cleanly_without_an_encoder_fails(monkeypatch, tmp_path):
    from mtneuro.bench.ddp import launch_pretrain
    from mtneuro.tasks.pretrain.config import make_config

    _fake_torchrun(monkeypatch, "print('done')")
    with pytest.raises(TrainingError, match=r"^SSL pre-training under torchrun \(2 processes\) "
                                            r"failed: it wrote no encoder.pt \(log: "):
        launch_pretrain(make_config("quick"), 2, tmp_path / "pretrain")


_LOG = """$ torchrun ...
RuntimeError: untagged, printed by torchrun before the processes' lines
[rank0]: Traceback (most recent call last):
[rank0]: ValueError: the process's own error
[default1]:torch.distributed.elastic.multiprocessing.errors.ChildFailedError: summary
"""


@pytest.mark.parametrize(("log", "cause", "tail"), [
    (_LOG, "ValueError: the process's own error",
     ("Traceback (most recent call last):\nValueError: the process's own error\n"
      "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: summary")),
    ("error: --source-param 'bogus': nope\n[rank0]:foo.ChildFailedError: x\n",
     "error: --source-param 'bogus': nope", "foo.ChildFailedError: x"),
    ("$ torchrun\nkilled\n", "exit code -9", "$ torchrun\nkilled"),
])
def test_a_failed_launch_names_the_process_error_then_the_tail(tmp_path, log, cause, tail):
    from mtneuro.bench.ddp import _failure_message

    path = tmp_path / "torchrun.log"
    path.write_text(log)
    assert _failure_message(path, 2, -9) == (
        f"SSL pre-training under torchrun (2 processes) failed: {cause} (log: {path})\n"
        f"--- last lines of the processes' output ---\n{tail}")


def test_the_ddp_record_carries_the_pretraining_summary(monkeypatch, tmp_path):
    from mtneuro.bench import ddp
    from mtneuro.bench.cell import cell_config
    from mtneuro.bench.suite import Cell
    from mtneuro.tasks.api import SCHEMA_VERSION
    from mtneuro.tasks.registry import get_task

    def fake_launch(config: object, nproc: int, out: Path, threads: int | None = None) -> Path:
        out.mkdir(parents=True)
        metrics = {"world_size": 2, "steps": 4, "epochs": 1, "final_loss": 0.5, "other": 1}
        (out / "metrics.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION,
                                                      "metrics": metrics}))
        return out / "encoder.pt"

    monkeypatch.setattr(ddp, "launch_pretrain", fake_launch)
    cell = Cell("c", "task1", "roi-c1", "byol", 0, "quick", {}, "phantom", {}, ddp_procs=2)
    config = cell_config(get_task("task1"), cell)
    _, record = ddp.pretrain_under_torchrun(get_task("task1"), config, cell, tmp_path)
    assert record == {"nproc_per_node": 2, "launcher": ddp.LAUNCHER, "pretrain_dir": "pretrain",
                      "encoder": "pretrain/encoder.pt", "world_size": 2, "steps": 4, "epochs": 1,
                      "final_loss": 0.5}
