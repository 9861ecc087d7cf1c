"""Fast BYOL / MYOW training on one recording: the whole training set is one tensor.

A recording has ~1,000 bins, so an "epoch" is one or two steps; what costs time is
the per-step overhead. Each step therefore does only tensor operations on the
training tensor already in memory: draw ``B`` anchor bins, draw one temporal
neighbour of each (same trial, within +-``pos_window`` bins), make both views with
the vectorised neural augmentations, and run the BYOL/MYOW step of
:mod:`mtneuro.ssl.step` (the image trainer's) once. No DataLoader, no per-sample Python.
:func:`drive` is the loop of every trained neural method (BYOL, MYOW, supervised).

MYOW mines within the batch: the candidates of anchor ``i`` are the second views
of the other anchors, except those of ``i``'s own trial (``mine_exclude="trial"``,
as the reference code excludes the whole trial) or those of ``i``'s own trial within
``mine_exclude`` recorded bins of ``i`` (recordings that are one long trial, e.g. sleep,
where a whole-trial exclusion would leave nothing to mine; measured in recorded time, so
bins on either side of a split's gap count by their distance in the recording).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from mtneuro.errors import TrainingError
from mtneuro.models import create_encoder
from mtneuro.progress import LoopProgress
from mtneuro.ssl.augment.neural import NeuralAugment, sample_temporal_neighbours, segment_bounds
from mtneuro.ssl.myow import create_method
from mtneuro.ssl.optim import build_optimizer
from mtneuro.ssl.schedules import ema_momentum, linear_ramp, warmup_lr
from mtneuro.ssl.step import loss_terms, ssl_step
from mtneuro.tasks.neural.config import NeuralConfig
from mtneuro.tasks.neural.splits import segments
from mtneuro.tasks.probe import single_thread_blas
from mtneuro.threads import available_cpus

#: One training step: ``step_fn(values)`` (``lr``, ``momentum``, ``mined_weight``) -> loss terms.
StepFn = Callable[[dict[str, float]], dict[str, torch.Tensor]]


@dataclasses.dataclass
class TrainResult:
    """A trained encoder and its learning curve.

    Attributes:
        encoder: the online encoder, in eval mode; input (B, neurons) z-scores.
        encoder_kwargs: ``create_encoder("mlp", **encoder_kwargs)`` rebuilds it.
        curve: one dict per logged step (``step``, ``loss`` and method-specific terms).
        wall_s: training wall time in seconds.
        steps: optimiser steps taken.
    """

    encoder: nn.Module
    encoder_kwargs: dict
    curve: list[dict[str, float]]
    wall_s: float
    steps: int


class ViewSampler:
    """Pairs of augmented views of training bins, drawn without Python loops.

    Args:
        rates: (n, neurons) firing rates (Hz) of the training bins, in recorded order.
        segment: (n,) segment id (trial, or contiguous block) per bin.
        trial: (n,) trial id per bin (for mining exclusion).
        augment: the random transform applied to each view.
        pos_window: temporal positives within +-``pos_window`` rows of the same segment (rows,
            as the reference: a speed-thresholded trial's rows can be recorded bins apart).
        mine_exclude: ``"trial"`` or a number of bins (see the module docstring).
        position: (n,) recorded bin index of each training bin (default ``0..n-1``): a number
            of bins is measured in recorded time, across the gaps between segments (the
            guard between training and validation bins, a random split's holes).
    """

    def __init__(self, rates: torch.Tensor, segment: torch.Tensor, trial: torch.Tensor,
                 augment: NeuralAugment, pos_window: int, mine_exclude: str,
                 position: torch.Tensor | None = None) -> None:
        self.rates, self.segment, self.trial = rates, segment, trial
        self.position = torch.arange(len(rates)) if position is None else position
        self.start, self.end = segment_bounds(segment)
        self.augment = augment
        self.pos_window = pos_window
        self.mine_exclude = mine_exclude

    @classmethod
    def over_bins(cls, rates: np.ndarray, trial: np.ndarray, bins: np.ndarray,
                  augment: NeuralAugment, config: NeuralConfig) -> ViewSampler:
        """The config's sampler over ``bins`` (sorted recorded indices) of a recording with
        firing rates ``rates`` (bins, kept neurons) and trial ids ``trial``: segments,
        trials and recorded positions all from ``bins``."""
        return cls(torch.from_numpy(rates[bins]), torch.from_numpy(segments(bins, trial)),
                   torch.from_numpy(trial[bins]), augment, int(config.pos_window),
                   str(config.mine_exclude), torch.from_numpy(bins))

    def __call__(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(view_a, view_b, exclude)``: (B, neurons) z-scored views and the (B, B) mining mask."""
        n = self.rates.shape[0]
        anchor = torch.randperm(n, generator=generator)[:batch]
        other = sample_temporal_neighbours(anchor, self.start, self.end, self.pos_window, generator=generator)
        view_a = self.augment(self.rates[anchor], generator)
        view_b = self.augment(self.rates[other], generator)
        return view_a, view_b, self.exclusion(anchor, other)

    def exclusion(self, anchor: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        """(B, P) True where ``candidate[j]`` is too close in time to ``anchor[i]`` to be mined."""
        if self.mine_exclude == "trial":
            return self.trial[anchor][:, None] == self.trial[candidate][None, :]
        window = int(self.mine_exclude)
        gap = self.position[anchor][:, None] - self.position[candidate][None, :]
        same_trial = self.trial[anchor][:, None] == self.trial[candidate][None, :]
        return (gap.abs() <= window) & same_trial


def total_steps(config: NeuralConfig, n_train: int) -> int:
    """Optimiser steps: ``epochs`` passes over the training bins if given, else ``steps``."""
    if config.epochs is not None:
        return config.epochs * max(1, math.ceil(n_train / min(config.batch_size, n_train)))
    assert config.steps is not None, "resolve() the config first"
    return int(config.steps)


def member_seed(seed: int, member: int) -> int:
    """Training seed of a run's ``member``-th encoder: 0 the first pass, 1 the refit.

    The refit ensemble reads both encoders side by side to rest on two draws of a noisy
    training, so they must not share their initial weights and random draws (with one seed
    they did whenever both kept the same neurons). Member 0 keeps the run's seed (a run
    without refit trains as before); member ``k > 0`` gets a 32-bit seed of NumPy's
    ``SeedSequence(seed, spawn_key=(k,))``: deterministic, and a hash, so unrelated to the
    run's and neighbouring runs' seeds (``seed + k`` would make run 0's refit run 1's
    first pass; tests/neural/test_refit_members.py checks seeds 0-199).
    """
    if member == 0:
        return seed
    state = np.random.SeedSequence(seed % 2**64, spawn_key=(member,)).generate_state(1)
    return int(state[0])


def mined_start_step(config: NeuralConfig, steps: int) -> int:
    """First step of MYOW's mined-loss ramp: the ``mined_start`` fraction of ``steps``."""
    return int(config.mined_start * steps)


def make_encoder(config: NeuralConfig, in_dim: int) -> tuple[nn.Module, dict]:
    """The MLP encoder of the config and the kwargs that rebuild it."""
    kwargs = {"in_dim": in_dim, "hidden": list(config.hidden), "out_dim": config.rep_dim}
    return create_encoder("mlp", **kwargs), kwargs


def make_method(name: str, encoder: nn.Module, config: NeuralConfig) -> nn.Module:
    """BYOL or MYOW with the MYOW monkey-reach heads: identity projector, predictor
    ``rep -> head_hidden -> rep``, mined projector/predictor ``-> mined_dim``, convex loss mix."""
    kwargs: dict = {"projector_hidden": 0, "predictor_hidden": config.head_hidden}
    if name == "myow":
        kwargs.update(mined_projector_hidden=config.head_hidden, mined_out=config.mined_dim,
                      k=config.knn_k, loss_mix="convex")
    return create_method(name, encoder, **kwargs)


def schedule(step: int, steps: int, config: NeuralConfig) -> dict[str, float]:
    """The step's ``lr`` (linear warm-up, then constant or cosine), target EMA ``momentum``
    (constant ``ema_start``, as the monkey reference script, whose cosine is commented out;
    or cosine to 1, as the mouse script applies it from 0.02) and MYOW's ``mined_weight``
    (0 for the first ``mined_start`` fraction of the steps, then ramped linearly)."""
    warmup = min(int(config.warmup_steps), steps)
    return {
        "lr": warmup_lr(step, steps, warmup, config.lr, config.lr_schedule),
        "momentum": ema_momentum(step, steps, config.ema_start, config.ema_schedule),
        "mined_weight": linear_ramp(step, config.mined_warmup_steps, config.mined_weight,
                                    mined_start_step(config, steps)),
    }


def checkpoint(step: int, steps: int, every: int, encoder: nn.Module,
               on_checkpoint: Callable[[int, nn.Module], None] | None) -> None:
    """After 0-based ``step``: every ``every`` steps and at the last one, call
    ``on_checkpoint(steps_done, encoder)`` with the encoder in eval mode, then resume training."""
    if on_checkpoint is None or not every or ((step + 1) % every and step != steps - 1):
        return
    encoder.eval()
    on_checkpoint(step + 1, encoder)
    encoder.train()


def drive(name: str, step_fn: StepFn, steps: int, config: NeuralConfig, encoder: nn.Module, *,
          progress: bool = False, every: int = 0,
          on_checkpoint: Callable[[int, nn.Module], None] | None = None,
          stop_after: int | None = None) -> tuple[list[dict[str, float]], float]:
    """Run ``step_fn(values)`` for ``steps`` steps with the values of :func:`schedule`.

    Logs ``step``, ``lr`` and the loss terms about 200 times (and at the last step) and
    stops on a non-finite loss there; ``on_checkpoint`` as in :func:`checkpoint`.
    ``stop_after`` ends the loop after that many steps of the same ``steps``-step
    schedules (a refit stops where validation chose, :mod:`mtneuro.tasks.neural.run`).

    Returns:
        ``(curve, wall_s)``.

    Raises:
        TrainingError: the loss became NaN or infinite.
    """
    stop = steps if stop_after is None else stop_after
    if not 1 <= stop <= steps:
        raise ValueError(f"stop_after: expected an int in [1, {steps}], got {stop_after}")
    log_every = max(1, steps // 200)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    # the refit counts from 0 again: named, a log of both passes does not seem to go back
    what = f"{name} training" + (" (refit)" if stop_after is not None else "")
    bar = LoopProgress(what, stop, unit="steps", enabled=progress)
    for step in range(stop):
        values = schedule(step, steps, config)
        terms = step_fn(values)
        if step % log_every == 0 or step == stop - 1:
            row = {"step": float(step), "lr": values["lr"], **{k: float(v) for k, v in terms.items()}}
            if not math.isfinite(row["loss"]):
                raise TrainingError(f"{name}: loss is {row['loss']} at step {step}; lower the "
                                    f"learning rate (NeuralConfig lr, {config.lr:g} here)")
            curve.append(row)
        checkpoint(step, steps, every, encoder, on_checkpoint)
        bar.update(1, detail=f"loss {curve[-1]['loss']:.3f}")
    bar.close()
    return curve, time.perf_counter() - start


def train_ssl(name: str, sampler: ViewSampler, config: NeuralConfig, *, seed: int,
              progress: bool = False, every: int = 0,
              on_checkpoint: Callable[[int, nn.Module], None] | None = None,
              stop_after: int | None = None) -> TrainResult:
    """Train ``byol`` or ``myow`` on the sampler's training bins.

    Each step is :func:`mtneuro.ssl.step.ssl_step` (the image trainer's step) on the
    sampler's two views, with AdamW and the values of :func:`schedule`.
    ``on_checkpoint(steps_done, encoder)`` is called every ``every`` steps and after
    the last (e.g. a :class:`~mtneuro.tasks.neural.select.ValidationMonitor`);
    ``stop_after`` as in :func:`drive`.

    Raises:
        TrainingError: the loss became NaN or infinite.
    """
    torch.manual_seed(seed)  # weight initialisation
    generator = torch.Generator().manual_seed(seed)  # views and the miner's draw
    n = sampler.rates.shape[0]
    encoder, enc_kwargs = make_encoder(config, sampler.rates.shape[1])
    method = make_method(name, encoder, config)
    optimizer = build_optimizer("adamw", method, lr=config.lr, weight_decay=config.weight_decay)
    steps, batch = total_steps(config, n), min(config.batch_size, n)

    def step_fn(values: dict[str, float]) -> dict[str, torch.Tensor]:
        view_a, view_b, exclude = sampler(batch, generator)
        return loss_terms(ssl_step(method, optimizer, view_a, view_b, values,
                                   generator=generator, exclude=exclude))

    method.train()
    curve, wall = drive(name, step_fn, steps, config, method.online_encoder, progress=progress,
                        every=every, on_checkpoint=on_checkpoint, stop_after=stop_after)
    return TrainResult(method.online_encoder.eval(), enc_kwargs, curve, wall, stop_after or steps)


@contextlib.contextmanager
def compute_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads and one BLAS thread (NumPy / scikit-learn:
    PCA, readouts), then restore the previous counts.

    A step multiplies (512 x 64)-sized matrices: thread start-up and synchronisation
    cost more than they save, and under CPU contention extra threads spin (measured
    here: 200 steps 14 s with 1 thread, 189 s with 2 on a loaded 2-core machine; the
    PCA and readouts of ``neural --method pca`` 25-30 s with the default BLAS threads,
    7-12 s with one).
    """
    cpus = available_cpus()
    if n > cpus:  # allowed (a benchmark may want it), but never a speed-up here
        warnings.warn(f"threads {n}: more than the {cpus} CPU(s) this process may use; the "
                      "extra threads wait on each other, so training is slower, not faster",
                      stacklevel=3)
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        with single_thread_blas():
            yield
    finally:
        torch.set_num_threads(previous)
