"""How a training step is made fast on its device: autocast type, memory format,
compilation, and how the step is driven (eagerly, from static buffers, or replayed from
a CUDA graph).

CPU memory reuse, which serves every training loop, is :mod:`mtneuro.cpu_memory`.

Used by :class:`mtneuro.ssl.trainer.Trainer` (task 2's training and inference share the
autocast type); none of it changes what is computed beyond rounding (the chosen
precision, the summation order of NHWC or compiled kernels).

The step modes (``TrainSettings.step``):

- ``"eager"``: Python drives every kernel each step; schedules are Python floats.
- ``"static"``: the step reads its inputs from static buffers and its learning rate,
  EMA weight and mined-loss weight from 0-dim device tensors updated in place; it never
  synchronises with the device (:class:`mtneuro.ssl.static_step.StaticStep`). On CPU
  this is the testable twin of ``"cuda_graph"``.
- ``"cuda_graph"``: ``"static"``, captured once in a CUDA graph after a few warm-up
  steps (:class:`GraphedStep`) and replayed every step: one launch instead of ~1,000.
- ``"auto"``: :data:`AUTO_STEP` for the device type (the one place where the defaults
  live), or ``"eager"`` where the chosen mode cannot run (see :func:`resolve_step`).

``compile_mode`` adds ``torch.compile`` of the static step's forward (encoders, heads,
miner, losses; its backward through AOTAutograd) and of its update (optimiser + EMA).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.vocab import AMP_MODES, COMPILE_MODES, STEP_MODES

# Inductor modes that record CUDA graphs of their own: they cannot run inside ours.
_INDUCTOR_GRAPH_MODES = ("reduce-overhead", "max-autotune")

#: Device types where ``step="cuda_graph"`` captures (a test adds "cpu" with a stand-in graph).
CAPTURE_DEVICES: tuple[str, ...] = ("cuda",)

#: What ``step="auto"`` and ``compile_mode="auto"`` run on each device type. Set from the
#: measured rows of ``benchmarks/ssl_throughput.py`` (benchmarks/README.md, "GPU"):
#: change them here and nowhere else.
AUTO_STEP: dict[str, tuple[str, str]] = {
    "cpu": ("eager", "off"),
    "cuda": ("eager", "off"),
}


def cuda_autocast_dtype() -> torch.dtype:
    """bfloat16 where the GPU has it, else float16 (which needs a gradient scaler).

    bfloat16 keeps float32's range, so activations cannot overflow to inf as they can in
    float16 (seen with MAnet logits at lr 3e-3), and it needs no scaler.
    """
    has_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if has_bf16 else torch.float16


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast type of ``amp`` (``auto``, ``none``, ``bf16``, ``fp16``) on ``device``.

    ``auto`` is :func:`cuda_autocast_dtype` on CUDA and off on CPU; None means full
    precision.
    """
    if amp == "auto":
        return cuda_autocast_dtype() if device.type == "cuda" else None
    if amp == "none":
        return None
    if amp not in AMP_MODES:
        raise ConfigError(f"amp: expected one of {', '.join(map(repr, AMP_MODES))}, got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("amp: 'fp16' needs a CUDA device (use 'bf16' or 'none' on CPU)")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def channels_last_pays(
    method: nn.Module, device: torch.device, amp_dtype: torch.dtype | None
) -> bool:
    """Whether ``method`` should train in NHWC memory format on ``device``.

    NHWC pays on GPUs and in oneDNN's CPU kernels: measured on 2 CPU cores in fp32, the
    X-ray ResNet-18 forward + backward at 128 px runs 1.6x faster, ``resnet-tiny`` 1.3-1.7x;
    at 8 px it is even. The exception: with torch 2.14.1 oneDNN's fp32 weight gradient of
    a strided 1x1 convolution with 2-15 input channels crashes the process (segmentation
    fault; found on a grid of shapes, bf16 unaffected), so such models stay NCHW on CPU.
    3D models (5-D weights) have no NHWC format: ``channels_last`` refuses them.
    """
    if any(p.dim() == 5 for p in method.parameters()):
        return False
    if device.type == "cuda" or amp_dtype is not None:
        return True
    return not any(_crashes_onednn_fp32(m) for m in method.modules())


def _crashes_onednn_fp32(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.Conv2d)
        and module.kernel_size == (1, 1)
        and module.stride != (1, 1)
        and 1 < module.in_channels < 16
    )


def compile_encoders(method: nn.Module) -> None:
    """``torch.compile`` the online and target encoders of a BYOL-family ``method`` in place.

    The encoders hold nearly all the work (compiled: fused norm/activation kernels); the
    rest of the step (the generator-driven kNN draw, a mined weight that changes every
    step) would break or re-specialise a whole-step graph. ``Module.compile()`` works in
    place, so ``state_dict`` keys (and checkpoints) stay the same.
    """
    names = ("online_encoder", "target_encoder")
    missing = [n for n in names if not isinstance(getattr(method, n, None), nn.Module)]
    if missing:
        raise ConfigError(f"compile: expected a method with {names}, {type(method).__name__} "
                          f"lacks {missing}")
    for name in names:
        getattr(method, name).compile()



@dataclass(frozen=True)
class StepPlan:
    """How the trainer drives its step: ``mode`` (``eager``/``static``/``cuda_graph``) and
    the ``torch.compile`` mode of the static step (None: not compiled)."""

    mode: str
    compile_mode: str | None = None

    @property
    def static(self) -> bool:
        return self.mode != "eager"


def resolve_step(
    step: str,
    compile_mode: str,
    device: torch.device,
    *,
    amp_dtype: torch.dtype | None,
    distributed: bool,
    optimizer_ok: str | None,
) -> StepPlan:
    """The step plan for the settings ``step`` and ``compile_mode`` on ``device``.

    Args:
        step: one of :data:`mtneuro.vocab.STEP_MODES`.
        compile_mode: one of :data:`COMPILE_MODES`; ``"auto"`` follows :data:`AUTO_STEP`
            when ``step`` is ``"auto"`` too, else means ``"off"``.
        device: the training device.
        amp_dtype: the autocast type (float16 needs a gradient scaler, which reads the
            device back every step: no static step).
        distributed: more than one process (DDP's hooks are not captured here).
        optimizer_ok: None if the optimiser has a static update
            (:func:`mtneuro.ssl.optim.static_update_support`), else why not.

    Raises:
        ConfigError: an unknown value, or an explicit mode that cannot run here. ``"auto"``
            never raises for these reasons: it runs ``"eager"`` instead.
    """
    if step not in STEP_MODES:
        raise ConfigError(f"step: expected one of {', '.join(STEP_MODES)}, got {step!r}")
    if compile_mode not in COMPILE_MODES:
        raise ConfigError(f"compile_mode: expected one of {', '.join(COMPILE_MODES)}, "
                          f"got {compile_mode!r}")
    explicit = step != "auto"
    if not explicit:
        step, auto_compile = AUTO_STEP.get(device.type, ("eager", "off"))
        compile_mode = auto_compile if compile_mode == "auto" else compile_mode
    compile_mode = None if compile_mode in ("auto", "off") else compile_mode
    if compile_mode is not None and step == "eager":
        if explicit:
            raise ConfigError(f"compile_mode: {compile_mode!r} compiles the static step; "
                              f"expected step 'static' or 'cuda_graph', got 'eager'")
        step = "static"
    why_not = _static_blocker(step, compile_mode, device, amp_dtype, distributed, optimizer_ok)
    if why_not is None:
        return StepPlan(step, compile_mode)
    if explicit:
        raise ConfigError(why_not)
    return StepPlan("eager")


def _static_blocker(step: str, compile_mode: str | None, device: torch.device,
                    amp_dtype: torch.dtype | None, distributed: bool,
                    optimizer_ok: str | None) -> str | None:
    if step == "eager":
        return None
    if step == "cuda_graph" and device.type not in CAPTURE_DEVICES:
        return f"step: 'cuda_graph' needs a CUDA device, got {device.type!r} (use 'static')"
    if step == "cuda_graph" and compile_mode in _INDUCTOR_GRAPH_MODES:
        return (f"compile_mode: {compile_mode!r} records CUDA graphs of its own; with step "
                f"'cuda_graph' use 'default' or 'max-autotune-no-cudagraphs'")
    if amp_dtype == torch.float16:
        return (f"step: {step!r} does not run with amp 'fp16' (its gradient scaler reads the "
                f"device back every step); use amp 'bf16' or 'none'")
    if distributed:
        return f"step: {step!r} runs in a single process; use 'eager' under torchrun"
    if optimizer_ok is not None:
        return f"step: {step!r} {optimizer_ok}"
    return None


# -- host synchronisation ---------------------------------------------------------------
_sync_free_depth = 0


@contextlib.contextmanager
def sync_free() -> Iterator[None]:
    """Within the block, checks that would read the device back assert asynchronously
    instead (see :func:`mtneuro.ssl.miner.knn_mine`), so the code can be captured."""
    global _sync_free_depth
    _sync_free_depth += 1
    try:
        yield
    finally:
        _sync_free_depth -= 1


def in_sync_free() -> bool:
    """Whether the caller runs inside :func:`sync_free` or under ``torch.compile``."""
    return _sync_free_depth > 0 or torch.compiler.is_compiling()


# -- CUDA graphs ------------------------------------------------------------------------
class GraphedStep:
    """Runs ``step()`` eagerly ``warmup`` times, then captures one call in a CUDA graph and
    replays the graph on every later call.

    ``step`` takes no arguments: it reads its inputs from tensors the caller overwrites in
    place before each call (same addresses), and its outputs are tensors that each replay
    overwrites (copy what you keep). The warm-up calls run on a side stream, as the CUDA
    graph documentation asks (cuDNN's algorithm search, lazy state such as optimiser
    buffers and autotuning happen there, before capture); they are real steps.

    Attributes:
        capture_s: seconds the capture took (None before it).
    """

    def __init__(self, step: Callable[[], object], warmup: int = 3) -> None:
        if warmup < 1:
            raise ValueError(f"GraphedStep warmup: expected int >= 1, got {warmup!r}")
        self.step, self.warmup = step, warmup
        self.calls = 0
        self.graph = None
        self.outputs: object = None
        self.capture_s: float | None = None
        self._side: torch.cuda.Stream | None = None

    def __call__(self) -> object:
        if self.graph is None and self.calls < self.warmup:
            self.calls += 1
            return self._warmup_call()
        if self.graph is None:
            start = time.perf_counter()
            self.graph, self.outputs = self._capture()
            self.capture_s = time.perf_counter() - start
        self.graph.replay()
        return self.outputs

    def _warmup_call(self) -> object:
        if self._side is None:
            self._side = torch.cuda.Stream()
        current = torch.cuda.current_stream()
        self._side.wait_stream(current)
        with torch.cuda.stream(self._side):
            out = self.step()
        current.wait_stream(self._side)
        return out

    def _capture(self) -> tuple[object, object]:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = self.step()
        return graph, outputs


def compile_function(fn: Callable, mode: str) -> Callable:
    """``torch.compile(fn, mode=mode)`` (one place, so tests can trace with another backend)."""
    return torch.compile(fn, mode=mode)
