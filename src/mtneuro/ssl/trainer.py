"""One training loop for BYOL, MYOW and MYOW-merged, from one CPU core to many GPUs.

The loop is written for exact resumption. All randomness of epoch ``e`` comes
from generators seeded by ``(seed, e, stream)``: the sample order, the pool
batches, the view augmentations (``+ rank``) and the method's own draws (one of
the k mined neighbours). Checkpoints are taken at epoch boundaries, and every
``checkpoint_minutes`` inside an epoch (with the epoch's generator states:
:mod:`mtneuro.ssl.epoch_position`), so a run interrupted anywhere and resumed from its
last checkpoint replays the same batches with the same augmentations and ends
bit-identical (on CPU) to an uninterrupted run. ``tests/ssl_train/test_resume.py``
checks this.

Per step: learning rate (warm-up, then cosine), EMA momentum (base -> 1, cosine) and
mined-loss weight (linear ramp) from :mod:`mtneuro.ssl.schedules`; two views made on the
device; the step of :func:`mtneuro.ssl.step.ssl_step` (one optimiser step, one target
update), which the neural-recording driver runs too. Loss terms are read back every
``log_every`` steps (one synchronisation), averaged over ranks, checked for NaN/inf and
appended to ``train_log.jsonl``; sample order and pool draws move to the device once per
epoch (``prefetch_indices``), so nothing else in a step waits for the device.

The step runs eagerly, or from static buffers, optionally captured in a CUDA graph
and/or compiled (``step``, ``compile_mode``; :mod:`mtneuro.acceleration`,
:class:`mtneuro.ssl.static_step.StaticStep`); all modes compute the same step up to
float rounding.

The method is any ``nn.Module`` with the common SSL call::

    out = method(view_a, view_b, pool=None, exclude=None, mined_weight=0.0, generator=None,
                 uniform=None, fuse_target_views=False)
    # out["loss"] (scalar), out["byol_loss"], optional out["mined_loss"], out["mined_index"]
    method.update_target(momentum)
    method.ema_pairs()  # (online, target) module pairs, for the static step's EMA
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mtneuro import acceleration, cpu_memory
from mtneuro.checkpoint_io import restore_into
from mtneuro.errors import ConfigError
from mtneuro.ssl import schedules
from mtneuro.ssl.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    method_name,
    restore_rng_state,
    save_checkpoint,
)
from mtneuro.ssl.distributed import DistInfo, barrier, local_slice
from mtneuro.ssl.divergence import DivergenceGuard
from mtneuro.ssl.epoch_position import (
    METHOD,
    ORDER,
    POOL,
    POSITION_KEY,
    VIEWS,
    CheckpointClock,
    epoch_generator,
    position_state,
    resume_in_epoch,
)
from mtneuro.ssl.loss_log import LossLog
from mtneuro.ssl.optim import static_update_support
from mtneuro.ssl.progress import Progress
from mtneuro.ssl.settings import (
    RUN_CONFIG_KEY,
    RunConfig,
    TrainSettings,
    check_resume,
    warn_other_step_plan,
)
from mtneuro.ssl.static_step import StaticStep
from mtneuro.ssl.step import loss_terms, set_learning_rate, ssl_step
from mtneuro.threads import resume_torch_threads

#: ``augment(batch, generator) -> view``: one random view of a float batch, on its device.
ViewFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
LOG_NAME = "train_log.jsonl"
CHECKPOINT_NAME = "checkpoint.pt"


class Trainer:
    """Runs ``settings.epochs`` epochs of ``method`` on ``images``.

    Args:
        method: the SSL module (BYOL / MYOW), already on ``dist.device``.
        optimizer: optimiser over the method's trainable parameters.
        images: all training images, uint8 (0-255) or float in [0, 1], shape (N, C, ...).
            Moved to the device once on CUDA; batches are indexed there.
        augment: makes one random view of a float batch; called twice per step
            (and once for the pool batch).
        settings: loop settings.
        out_dir: where ``train_log.jsonl`` and ``checkpoint.pt`` go (main rank only);
            ``None``: nothing is written (an in-memory run, e.g. a task's pre-training).
        dist: this process's place in a ``torchrun`` job (single process if None).
        wrap: builds what is called each step from ``method`` (e.g. a DDP wrapper); applied
            after the memory-format change, so DDP's gradient buckets match the parameters.
        run_config: the caller's complete config (method, views, data, optimiser), stored
            in every checkpoint; a resume with other values than stored is refused.
    """

    def __init__(
        self,
        method: nn.Module,
        optimizer: torch.optim.Optimizer,
        images: torch.Tensor,
        augment: ViewFn,
        settings: TrainSettings,
        out_dir: str | Path | None,
        *,
        dist: DistInfo | None = None,
        wrap: Callable[[nn.Module], nn.Module] | None = None,
        run_config: RunConfig | None = None,
    ) -> None:
        self.method, self.optimizer, self.augment, self.settings = method, optimizer, augment, settings
        self.run_config = run_config
        self.dist = dist or DistInfo(device=next(method.parameters()).device)
        self.device = self.dist.device
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.log_path = self.out_dir / LOG_NAME if self.out_dir is not None else None
        self.checkpoint_path = self.out_dir / CHECKPOINT_NAME if self.out_dir is not None else None
        self.images = images.to(self.device) if self.device.type == "cuda" else images
        self.n = int(images.shape[0])
        self.steps_per_epoch = self.n // settings.batch_size
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"batch_size: expected <= the {self.n} training samples, got {settings.batch_size}"
            )
        if settings.mining_view not in ("a", "third"):
            raise ConfigError(f"mining_view: expected 'a' or 'third', got "
                              f"{settings.mining_view!r}")
        if settings.pool_size == 1:  # its one sample may be the query's own: nothing to mine
            raise ConfigError("pool_size: expected 0 (mine within the batch) or an int >= 2, "
                              "got 1")
        if settings.pool_size > self.n:
            raise ConfigError(f"pool_size: expected <= {self.n} samples, got {settings.pool_size}")
        self.batch_slice = local_slice(settings.batch_size, self.dist)
        self.pool_slice = (local_slice(settings.pool_size, self.dist, "pool_size")
                           if settings.pool_size else None)
        self.amp_dtype = acceleration.autocast_dtype(settings.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.channels_last = settings.channels_last and acceleration.channels_last_pays(
            method, self.device, self.amp_dtype)
        if self.channels_last:
            method.to(memory_format=torch.channels_last)
        if settings.compile:
            acceleration.compile_encoders(method)
        self.model = wrap(method) if wrap is not None else method
        self.plan = acceleration.resolve_step(
            settings.step, settings.compile_mode, self.device, amp_dtype=self.amp_dtype,
            distributed=self.dist.enabled, optimizer_ok=static_update_support(optimizer))
        self.static: StaticStep | None = None
        if self.plan.static:
            self.static = StaticStep(method, optimizer, device=self.device,
                                     amp_dtype=self.amp_dtype, capture=self.plan.mode == "cuda_graph",
                                     compile_mode=self.plan.compile_mode,
                                     fuse_target_views=settings.fuse_target_views)
        if self.device.type == "cuda":
            # Every step has the same input shapes, so cuDNN's one-off algorithm search
            # pays for itself within a few steps.
            torch.backends.cudnn.benchmark = True
        self.total_steps = settings.epochs * self.steps_per_epoch
        self.step = self.epoch = 0
        self.log = LossLog(self.log_path, settings.batch_size,
                           self.dist.is_main and self.log_path is not None)
        self.last_checkpoint: str | None = None  # where it was taken, for messages
        # where a mid-epoch checkpoint left the current epoch (None: at its start)
        self.position: dict[str, Any] | None = None
        # one process only: each rank's generators are its own, and only rank 0 saves
        self.clock = CheckpointClock(settings.checkpoint_minutes if self.dist.world_size == 1
                                     and self.checkpoint_path is not None else None)
        self.guard = DivergenceGuard()

    # -- schedules ------------------------------------------------------------------
    def scheduled(self, step: int) -> dict[str, float]:
        """Learning rate, EMA momentum and mined weight at global ``step``."""
        s, spe = self.settings, self.steps_per_epoch
        warmup = min(self.total_steps, round(s.warmup_epochs * spe))
        return {
            "lr": schedules.warmup_cosine_lr(step, self.total_steps, warmup, s.lr),
            "momentum": schedules.momentum_schedule(step, self.total_steps, s.base_momentum),
            "mined_weight": schedules.linear_ramp(step, round(s.mined_rampup_epochs * spe), s.mined_weight),
        }

    # -- public ---------------------------------------------------------------------
    def fit(self, *, resume: bool = False, resume_hint: str = "") -> dict[str, Any]:
        """Train to ``settings.epochs``; with ``resume``, continue from ``checkpoint.pt``
        (a refusal to resume ends with ``resume_hint``: what a command's user can do).

        Returns:
            ``{"steps", "steps_run" (this call), "epochs", "final_loss", "samples_per_s",
            "wall_s", "log", "checkpoint", "step_mode", "compile_mode"}`` (the step as it
            ran: :func:`~mtneuro.acceleration.resolve_step`).

        Raises:
            TrainingError: a non-finite loss (the last good checkpoint is kept), or a
                checkpoint without a stored run config that does not match these settings.
            ConfigError: a checkpoint whose stored run config differs from ``run_config``
                (:func:`~mtneuro.ssl.settings.check_resume`).
        """
        if resume and self.checkpoint_path is not None and self.checkpoint_path.is_file():
            self._restore(resume_hint)
        else:
            self.log.reset()
        start, start_step = time.perf_counter(), self.step
        self.log.window_start = start
        self.clock.reset()
        self.progress = Progress(self.total_steps, self.settings.batch_size, self.steps_per_epoch,
                                 self.step, enabled=not self.settings.quiet and self.dist.is_main)
        try:
            with cpu_memory.retained_cpu_memory(self.settings.retain_cpu_memory, self.device):
                for epoch in range(self.epoch, self.settings.epochs):
                    self._run_epoch(epoch)
                    self.epoch = epoch + 1
                    if self.epoch % self.settings.checkpoint_every == 0 or self.epoch == self.settings.epochs:
                        self._save()
        finally:
            self.progress.close()
        wall = time.perf_counter() - start
        samples = (self.step - start_step) * self.settings.batch_size
        return {
            "steps": self.step,
            "steps_run": self.step - start_step,
            "epochs": self.epoch,
            "final_loss": self.log.last_loss,
            "samples_per_s": samples / wall if samples and wall > 0 else math.nan,
            "wall_s": wall,
            "log": str(self.log_path) if self.log_path is not None else None,
            "checkpoint": str(self.checkpoint_path) if self.checkpoint_path is not None else None,
            "step_mode": self.plan.mode,
            "compile_mode": self.plan.compile_mode,
        }

    # -- one epoch ------------------------------------------------------------------
    def _run_epoch(self, epoch: int) -> None:
        s, rank = self.settings, self.dist.rank
        cpu = torch.device("cpu")
        order = torch.randperm(self.n, generator=epoch_generator(cpu, s.seed, epoch, ORDER))
        pool_gen = epoch_generator(cpu, s.seed, epoch, POOL)
        view_gen = epoch_generator(self.device, s.seed, epoch, VIEWS, rank)
        method_gen = epoch_generator(self.device, s.seed, epoch, METHOD, rank)
        pools = None
        if s.prefetch_indices:  # the same draws, made up front: one copy per epoch
            order = order.to(self.images.device)
            if self.pool_slice is not None:
                pools = torch.stack([torch.randperm(self.n, generator=pool_gen)[: s.pool_size]
                                     for _ in range(self.steps_per_epoch)]).to(self.images.device)
        drawn = {"views": view_gen, "method": method_gen}
        first = 0
        if self.position is not None:  # resumed from a checkpoint inside this epoch
            step_pools = pool_gen if pools is None and self.pool_slice is not None else None
            first = resume_in_epoch(self.position, drawn, step_pools, self.n,
                                    str(self.checkpoint_path))
            self.position = None
        self.model.train()
        for i in range(first, self.steps_per_epoch):
            batch_idx = order[i * s.batch_size : (i + 1) * s.batch_size][self.batch_slice]
            pool_idx = pools[i] if pools is not None else None
            if pools is None and self.pool_slice is not None:
                pool_idx = torch.randperm(self.n, generator=pool_gen)[: s.pool_size]
            values = self.scheduled(self.step)
            terms = self._train_step(batch_idx, pool_idx, values, view_gen, method_gen)
            self.step += 1
            self.log.add(self.step, epoch, values, terms)
            if self.step % s.log_every == 0 or i == self.steps_per_epoch - 1:
                written, rate = self.log.flush(self._kept_checkpoint)
                self.progress.update(self.step, written, self.log.last_loss, rate)
                if i < self.steps_per_epoch - 1 and self.clock.due():
                    self.position = position_state(i + 1, drawn)
                    self._save()
                    self.position = None

    def _batch(self, idx: torch.Tensor) -> torch.Tensor:
        batch = self.images[idx.to(self.images.device)].to(self.device, non_blocking=True)
        dtype = torch.get_default_dtype()  # float32 unless a caller asks for more
        return batch.to(dtype).div_(255.0) if batch.dtype == torch.uint8 else batch.to(dtype)

    def _views(self, batch: torch.Tensor, generator: torch.Generator, n: int) -> list[torch.Tensor]:
        views = [self.augment(batch, generator) for _ in range(n)]
        if self.channels_last and batch.dim() == 4:
            views = [v.contiguous(memory_format=torch.channels_last) for v in views]
        return views

    def _train_step(
        self,
        batch_idx: torch.Tensor,
        pool_idx: torch.Tensor | None,
        values: dict[str, float],
        view_gen: torch.Generator,
        method_gen: torch.Generator,
    ) -> dict[str, torch.Tensor]:
        batch = self._batch(batch_idx)
        view_a, view_b = self._views(batch, view_gen, 2)
        pool = exclude = view_m = None
        third = self.settings.mining_view == "third"
        if pool_idx is not None:
            # Each rank embeds its block of the global pool; the method gathers the
            # embeddings, so the mask is against the whole pool: a sample drawn into
            # the pool must not be mined as its own neighbour.
            pool_batch = self._batch(pool_idx[self.pool_slice])
            if third:  # one call: a crop per batch cuts the query and the pool alike
                (both,) = self._views(torch.cat([batch, pool_batch]), view_gen, 1)
                view_m, pool = both[: batch.shape[0]], both[batch.shape[0]:]
            else:
                (pool,) = self._views(pool_batch, view_gen, 1)
            exclude = (batch_idx[:, None] == pool_idx[None, :]).to(self.device)
        elif third:
            (view_m,) = self._views(batch, view_gen, 1)
        if self.static is not None:
            set_learning_rate(self.optimizer, values["lr"])
            # The miner's draw, as knn_mine would make it from this generator.
            uniform = torch.rand(view_a.shape[0], generator=method_gen, device=method_gen.device)
            inputs = {"view_a": view_a, "view_b": view_b, "pool": pool, "exclude": exclude,
                      "uniform": uniform.to(self.device), "view_m": view_m}
            return self.static(inputs, values)
        out = ssl_step(self.model, self.optimizer, view_a, view_b, values, generator=method_gen,
                       pool=pool, exclude=exclude, view_m=view_m, method=self.method,
                       amp_dtype=self.amp_dtype,
                       scaler=self.scaler, fuse_target_views=self.settings.fuse_target_views)
        return {k: v.double() for k, v in loss_terms(out).items()}

    # -- checkpoints --------------------------------------------------------------------
    def _kept_checkpoint(self) -> str:
        if self.checkpoint_path is None:
            return "no checkpoint is kept (in-memory run)"
        if self.last_checkpoint is None:
            return "no checkpoint had been written"
        return f"last good checkpoint {self.checkpoint_path} ({self.last_checkpoint})"

    def _state(self) -> dict[str, Any]:
        config = {} if self.run_config is None else {RUN_CONFIG_KEY: dict(self.run_config.values)}
        return {
            **config,
            "method": self.method.state_dict(),
            "method_name": method_name(self.method),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "step": self.step,
            "epoch": self.epoch,
            "settings": asdict(self.settings),
            "rng": capture_rng_state(),
            "torch_threads": torch.get_num_threads(),
            "step_plan": [self.plan.mode, self.plan.compile_mode],
            "world_size": self.dist.world_size,
            # the guard's running loss level: a resumed run judges a loss jump as the
            # uninterrupted one would
            "guard_losses": list(self.guard.losses),
            POSITION_KEY: self.position,
        }

    def _where(self) -> str:
        # the epoch as the progress line counts it and as the log does (LossLog.where)
        return f"step {self.step} ({self.log.where(self.epoch - 1)})"

    def _checkpoint_place(self, of: str = "") -> str:
        """``epoch 8`` (``of``: ``/25``), and the steps done of the next one where the
        checkpoint is inside it."""
        if self.position is None:
            return f"epoch {self.epoch}{of}"
        return (f"epoch {self.epoch}{of}, then {self.position['steps_done']} of the "
                f"{self.steps_per_epoch} steps of epoch {self.epoch + 1}")

    def _save(self) -> None:
        self.guard.check(self.method, self.optimizer, self.log.last_loss, self._where(),
                         self._kept_checkpoint)
        if self.dist.is_main and self.checkpoint_path is not None:
            save_checkpoint(self.checkpoint_path, self._state(), position=(
                f"step {self.step}/{self.total_steps}, "
                f"{self._checkpoint_place(f'/{self.settings.epochs}')}"))
        self.last_checkpoint = self._checkpoint_place()
        self.clock.reset()
        barrier()  # no rank races ahead of a checkpoint it might need to resume from

    def _restore(self, hint: str) -> None:
        state = load_checkpoint(self.checkpoint_path, map_location=self.device)
        check_resume(state, method_name(self.method), self.settings, self.run_config,
                     str(self.checkpoint_path), hint, world_size=self.dist.world_size)
        restore_into(self.method, state, "method", self.checkpoint_path)
        restore_into(self.optimizer, state, "optimizer", self.checkpoint_path)
        if self.scaler is not None and state["scaler"] is not None:
            restore_into(self.scaler, state, "scaler", self.checkpoint_path)
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.position = state.get(POSITION_KEY)
        self.last_checkpoint = self._checkpoint_place()
        restore_rng_state(state["rng"])
        self.guard.losses = [float(x) for x in state.get("guard_losses", [])]
        resume_torch_threads(state.get("torch_threads"), str(self.checkpoint_path))
        warn_other_step_plan(state.get("step_plan"), self.plan, str(self.checkpoint_path))
        self.log.truncate(self.step)
