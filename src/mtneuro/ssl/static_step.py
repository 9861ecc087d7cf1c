"""The SSL training step as a fixed sequence of kernels, ready for a CUDA graph.

:class:`StaticStep` runs what :meth:`mtneuro.ssl.trainer.Trainer._train_step` runs
eagerly (forward of both branches, mining, losses, backward, optimiser update, EMA
update), but so that one call's kernels can be captured once and replayed:

- inputs (the views, the pool, the exclusion mask, the miner's uniform draw) are copied
  into buffers allocated on the first call, at fixed addresses;
- the learning rate, the EMA weight ``1 - m`` and the mined-loss weight are 0-dim device
  tensors filled in place before each call, never Python floats read at capture;
- the update is :class:`~mtneuro.ssl.optim.TensorLRUpdate` and
  :class:`~mtneuro.ssl.momentum.TargetEMA` (foreach kernels, no host synchronisation);
- the miner's random pick arrives as a uniform draw made by the caller from the step's
  device generator, the same numbers :func:`~mtneuro.ssl.miner.knn_mine` would draw;
- checks that would read the device back assert asynchronously
  (:func:`~mtneuro.acceleration.sync_free`); when captured, autocast runs without
  its weight cache (a cast cached during capture would be stale at replay).

With ``capture`` (CUDA) the step is captured by :class:`~mtneuro.acceleration.GraphedStep`
after three warm-up calls; with ``compile_mode`` the forward (encoders, heads, miner and
losses, backward by AOTAutograd) and the update are ``torch.compile``'d.
On CPU without capture it computes what the eager step computes, up to the rounding of
``w -= lr * buf`` and of the EMA (``tests/ssl_train/test_static_step.py``).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from mtneuro import acceleration
from mtneuro.ssl.momentum import TargetEMA
from mtneuro.ssl.optim import TensorLRUpdate

_INPUTS = ("view_a", "view_b", "pool", "exclude", "uniform", "view_m")


class StaticStep:
    """One SSL training step from static buffers (see the module docstring).

    Args:
        method: the BYOL/MYOW module (already on ``device``, in its memory format).
        optimizer: SGD or LARS over the method's trainable parameters.
        device: the training device.
        amp_dtype: autocast type, or None for full precision.
        capture: capture the step in a CUDA graph (CUDA only).
        compile_mode: ``torch.compile`` mode of the forward and the update, or None.
        fuse_target_views: forwarded to the method (one target forward for all views).

    Attributes:
        first_call_s: seconds of the first call (compilation happens there).
        graph: the :class:`~mtneuro.acceleration.GraphedStep`, if capturing.
    """

    def __init__(
        self,
        method: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        device: torch.device,
        amp_dtype: torch.dtype | None,
        capture: bool = False,
        compile_mode: str | None = None,
        fuse_target_views: bool = False,
    ) -> None:
        self.method, self.optimizer, self.device = method, optimizer, device
        self.amp_dtype, self.fuse_target_views = amp_dtype, fuse_target_views
        self.cache_casts = not capture
        self.update = TensorLRUpdate(optimizer)
        self.ema = TargetEMA(method.ema_pairs())
        self.lr = torch.zeros((), device=device)
        self.ema_weight = torch.zeros((), device=device)
        # float64: ``1 - w`` and ``w * loss`` round as they do with a Python float.
        self.mined_weight = torch.zeros((), dtype=torch.float64, device=device)
        self.buffers: dict[str, torch.Tensor | None] | None = None
        self.forward, self.apply_update = self._forward, self._update
        self.marks_steps = compile_mode in ("reduce-overhead", "max-autotune")
        if compile_mode is not None:
            self.forward = acceleration.compile_function(self._forward, compile_mode)
            self.apply_update = acceleration.compile_function(self._update, compile_mode)
        self.graph = acceleration.GraphedStep(self._step) if capture else None
        self.first_call_s: float | None = None

    def __call__(
        self, inputs: dict[str, torch.Tensor | None], values: dict[str, float]
    ) -> dict[str, torch.Tensor]:
        """One step; returns the loss terms (detached float64 0-dim tensors, not yet read).

        Args:
            inputs: this step's ``view_a``, ``view_b`` (two views ``(B, ...)``), ``pool``
                and ``exclude`` (the candidate pool ``(P, ...)`` and bool mask ``(B, P)``,
                or None: None-ness and shapes must stay the same from call to call) and
                ``uniform`` (the miner's draw ``(B,)``) and ``view_m`` (MYOW's own query
                view, or None).
            values: ``lr``, ``momentum`` and ``mined_weight`` of this step.
        """
        start = time.perf_counter()
        if sorted({"view_m", *inputs}) != sorted(_INPUTS):
            raise ValueError(f"StaticStep: expected inputs {_INPUTS[:-1]} (and optional "
                             f"view_m), got {tuple(inputs)}")
        inputs = {"view_m": None, **inputs}  # only MYOW's own query view uses it
        self.lr.fill_(values["lr"])
        self.ema_weight.fill_(1.0 - values["momentum"])
        self.mined_weight.fill_(values["mined_weight"])
        if self.buffers is None:
            self.buffers = {k: None if v is None else torch.empty_like(v) for k, v in inputs.items()}
        for name, value in inputs.items():
            if (value is None) != (self.buffers[name] is None):
                was = "absent" if value is not None else "given"
                raise ValueError(f"StaticStep: {name} was {was} at the first step; it must stay so")
            if value is not None:
                self.buffers[name].copy_(value)
        names, stacked = self.graph() if self.graph is not None else self._step()
        if self.first_call_s is None:
            self.first_call_s = time.perf_counter() - start
        # A replay overwrites its outputs: keep a copy until the loss is read back.
        return dict(zip(names, stacked.clone().unbind()))

    def _step(self) -> tuple[list[str], torch.Tensor]:
        if self.marks_steps:  # inductor's CUDA graphs: a new iteration starts here
            torch.compiler.cudagraph_mark_step_begin()
        with acceleration.sync_free():
            self.optimizer.zero_grad(set_to_none=True)
            loss, terms = self.forward(self.buffers, self.mined_weight)
            loss.backward()
            self.apply_update(self.lr, self.ema_weight)
        names = sorted(terms)
        return names, torch.stack([terms[k] for k in names])

    def _forward(
        self, inputs: dict[str, torch.Tensor | None], mined_weight: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None, cache_enabled=self.cache_casts):
            extra = {} if inputs["view_m"] is None else {"view_m": inputs["view_m"]}
            out = self.method(inputs["view_a"], inputs["view_b"], pool=inputs["pool"],
                              exclude=inputs["exclude"], uniform=inputs["uniform"],
                              mined_weight=mined_weight, fuse_target_views=self.fuse_target_views,
                              **extra)
        terms = {k: v.detach().double() for k, v in out.items()
                 if k.endswith("loss") and v.dim() == 0}
        return out["loss"], terms

    def _update(self, lr: torch.Tensor, ema_weight: torch.Tensor) -> None:
        self.update(lr)
        self.ema(ema_weight)
