"""The static step (``step="static"``), its CUDA-graph capture and its compiled form compute
what the eager step computes; the capture is checked on CPU with a stand-in graph that
replays recorded operations with frozen Python numbers (``graph_sim.py``).

The runs are in float64: the static update rounds ``w -= lr * buf`` and the EMA once more
than torch's eager kernels, and in float32 a tiny BYOL amplifies that last-bit difference
to 1e-4 within 8 steps; in float64 the same runs agree to 1e-12, so the comparison
stays sharp."""

from __future__ import annotations

import json

import pytest
import torch
from graph_sim import SimulatedGraphedStep
from ssl_train_helpers import flip_noise_view, tiny_byol, tiny_myow

from mtneuro import acceleration
from mtneuro.errors import ConfigError
from mtneuro.ssl.trainer import Trainer, TrainSettings

SETTINGS = TrainSettings(epochs=2, batch_size=16, lr=0.05, warmup_epochs=1, base_momentum=0.9,
                         mined_weight=0.5, mined_rampup_epochs=1, pool_size=16, seed=3,
                         log_every=1, quiet=True)
METHODS = {
    "myow-pool": lambda: tiny_myow(seed=3),
    "myow-merged-k2-pool": lambda: tiny_myow(seed=3, layout="merged", k=2),
    "myow-in-batch": lambda: tiny_myow(seed=3, k=2),
    "byol": lambda: tiny_byol(seed=3),
}


@pytest.fixture(autouse=True)
def _float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def simulated_capture(monkeypatch):
    """``step="cuda_graph"`` on CPU, captured by the stand-in graph."""
    monkeypatch.setattr(acceleration, "CAPTURE_DEVICES", ("cuda", "cpu"))
    monkeypatch.setattr(acceleration, "GraphedStep", SimulatedGraphedStep)


def _fit(images, out_dir, method_name, optimizer="sgd", **changes):
    method = METHODS[method_name]()
    params = [p for p in method.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=SETTINGS.lr, momentum=0.9, weight_decay=1e-4)
    else:
        from mtneuro.ssl.optim import build_optimizer

        opt = build_optimizer(optimizer, method, SETTINGS.lr, weight_decay=1e-4)
    pool = 0 if method_name in ("byol", "myow-in-batch") else SETTINGS.pool_size
    settings = TrainSettings(**{**SETTINGS.__dict__, "pool_size": pool, **changes})
    trainer = Trainer(method, opt, images[:64], flip_noise_view, settings, out_dir)
    trainer.fit()
    log = [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]
    return log, method, trainer


def _assert_same_run(log, method, ref_log, ref_method):
    for key in ("loss", "byol_loss", "mined_loss"):
        if key in ref_log[0]:
            assert [r[key] for r in log] == pytest.approx([r[key] for r in ref_log], rel=1e-12,
                                                          abs=1e-12), key
    assert [r["lr"] for r in log] == [r["lr"] for r in ref_log]
    expected_values = ref_method.state_dict().values()
    for (name, value), expected in zip(method.state_dict().items(), expected_values):
        if value.is_floating_point():
            assert value.dtype == torch.float64
            torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12, msg=name)
        else:
            assert torch.equal(value, expected), name


@pytest.mark.parametrize("method_name", list(METHODS))
def test_static_and_captured_steps_match_the_eager_step(digits_images, tmp_path, method_name,
                                                        simulated_capture):
    eager = _fit(digits_images, tmp_path / "eager", method_name, step="eager")
    static = _fit(digits_images, tmp_path / "static", method_name, step="static")
    graph_log, graph_method, trainer = _fit(digits_images, tmp_path / "graph", method_name,
                                            step="cuda_graph")
    _assert_same_run(*static[:2], *eager[:2])
    _assert_same_run(graph_log, graph_method, *eager[:2])
    # 8 steps: 3 warm-up calls, the capture (which ran step 4), replays for steps 5-8
    graph = trainer.static.graph
    assert trainer.plan.mode == "cuda_graph" and graph.graph.replays == 4
    assert [r["loss"] for r in graph_log] == [r["loss"] for r in static[0]]


def test_static_step_with_lars(digits_images, tmp_path):
    eager = _fit(digits_images, tmp_path / "eager", "myow-pool", optimizer="lars", step="eager")
    static = _fit(digits_images, tmp_path / "static", "myow-pool", optimizer="lars", step="static")
    _assert_same_run(*static[:2], *eager[:2])


def test_stand_in_graph_freezes_python_numbers_and_rejects_host_reads():
    # What makes the equivalence test above able to fail: a number read on the host is
    # frozen at capture (as in a CUDA graph), a tensor filled in place is not.
    x, scale = torch.zeros(3), torch.ones(())
    baked = {"lr": 1.0}
    step = SimulatedGraphedStep(lambda: (x.add_(scale * baked["lr"]), x.mul_(1.0))[0], warmup=1)
    step()  # warm-up: x = 1
    step()  # capture (runs once): x = 2
    baked["lr"], _ = 100.0, scale.fill_(2.0)
    step()  # replay: the captured 1.0 stays, the tensor's new value is read: x = 4
    assert torch.equal(x, torch.full((3,), 4.0))
    reads = SimulatedGraphedStep(lambda: x.sum().item(), warmup=1)
    reads()
    with pytest.raises(RuntimeError, match="reads the device back"):
        reads()


def test_compiled_static_step_matches_the_eager_step(digits_images, tmp_path, monkeypatch):
    # aot_eager traces forward, backward and update exactly as inductor would, without
    # minutes of C++ generation on a 2-core CI machine (inductor on CPU: the same losses
    # to 1e-6, measured once, 183 s); inductor itself is timed in benchmarks/.
    from torch._dynamo.utils import counters

    monkeypatch.setattr(acceleration, "compile_function",
                        lambda fn, mode: torch.compile(fn, backend="aot_eager"))
    torch._dynamo.reset()
    counters.clear()
    eager = _fit(digits_images, tmp_path / "eager", "myow-pool", step="eager", epochs=1)
    compiled = _fit(digits_images, tmp_path / "compiled", "myow-pool", step="static", epochs=1,
                    compile_mode="max-autotune-no-cudagraphs")
    _assert_same_run(*compiled[:2], *eager[:2])
    # one graph for the forward, one for the update: no graph break, no recompilation
    assert not counters["graph_break"] and counters["stats"]["unique_graphs"] == 2
    torch._dynamo.reset()


def test_prefetched_indices_change_nothing(digits_images, tmp_path):
    on = _fit(digits_images, tmp_path / "on", "myow-pool", prefetch_indices=True)
    off = _fit(digits_images, tmp_path / "off", "myow-pool", prefetch_indices=False)
    assert [r["loss"] for r in on[0]] == [r["loss"] for r in off[0]]
    for a, b in zip(on[1].state_dict().values(), off[1].state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("step", "compile_mode", "device", "amp", "distributed", "optimizer_ok", "expected"),
    [
        ("auto", "auto", "cpu", None, False, None, ("eager", None)),
        ("auto", "auto", "cuda", torch.bfloat16, False, None, acceleration.AUTO_STEP["cuda"]),
        ("auto", "default", "cpu", None, False, None, ("static", "default")),
        ("auto", "default", "cpu", None, False, "needs SGD", ("eager", None)),
        ("auto", "auto", "cuda", torch.float16, False, None, ("eager", None)),
        ("static", "off", "cpu", None, False, None, ("static", None)),
        ("cuda_graph", "max-autotune-no-cudagraphs", "cuda", None, False, None,
         ("cuda_graph", "max-autotune-no-cudagraphs")),
        ("cuda_graph", "auto", "cpu", None, False, None, "needs a CUDA device"),
        ("cuda_graph", "max-autotune", "cuda", None, False, None, "records CUDA graphs"),
        ("static", "auto", "cuda", torch.float16, False, None, "amp 'fp16'"),
        ("static", "auto", "cpu", None, True, None, "single process"),
        ("static", "auto", "cpu", None, False, "needs an SGD or LARS optimiser", "LARS"),
        ("eager", "default", "cpu", None, False, None, "expected step 'static' or 'cuda_graph'"),
        ("graph", "auto", "cpu", None, False, None, "step: expected one of"),
        ("auto", "fast", "cpu", None, False, None, "compile_mode: expected one of"),
    ],
)
def test_step_plan(step, compile_mode, device, amp, distributed, optimizer_ok, expected):
    def plan():
        return acceleration.resolve_step(step, compile_mode, torch.device(device), amp_dtype=amp,
                                         distributed=distributed, optimizer_ok=optimizer_ok)

    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected):
            plan()
        return
    mode, compiled = expected
    if step == "auto" and device == "cuda" and amp == torch.bfloat16:  # follows AUTO_STEP
        compiled = None if compiled == "off" else compiled
    result = plan()
    assert (result.mode, result.compile_mode) == (mode, compiled)


def test_trainer_rejects_a_static_step_with_adamw(digits_images, tmp_path):
    with pytest.raises(ConfigError, match="needs an SGD or LARS optimiser"):
        _fit(digits_images, tmp_path, "myow-pool", optimizer="adamw", step="static")
