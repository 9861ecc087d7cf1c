"""The training loop's settings, and which of them a resumed run may change.

A checkpoint stores the settings it was written with (:mod:`mtneuro.ssl.checkpoint`) and,
where the caller gives one, its complete run config (:class:`RunConfig`: the loop settings
derive from it, but the method, views and data are only in it); :func:`resume_problem`
says why a checkpoint cannot continue a run, so the trainer and a command (before it reads
any data) refuse a resume the same way (:func:`check_resume`); a resume that drives its step
otherwise than the run did is allowed, with a warning (:func:`warn_other_step_plan`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from mtneuro.acceleration import StepPlan
from mtneuro.errors import ConfigError, TrainingError
from mtneuro.vocab import AMP_MODES, COMPILE_MODES, STEP_MODES

Amp = Literal[AMP_MODES]
Step = Literal[STEP_MODES]
CompileMode = Literal[COMPILE_MODES]

#: Settings that may change between an interrupted run and its resumption.
#: The step modes compute the same step up to float rounding, so they may change too.
RESUMABLE_CHANGES = ("log_every", "checkpoint_every", "checkpoint_minutes", "quiet",
                     "retain_cpu_memory", "step", "compile_mode", "prefetch_indices")


@dataclass(frozen=True)
class TrainSettings:
    """Loop settings (validated by the caller's config, e.g. ``PretrainConfig``).

    Attributes:
        epochs: passes over the data.
        batch_size: global batch size (split evenly over ranks).
        lr: peak learning rate (after the LARS rule, if any).
        warmup_epochs: linear learning-rate warm-up length.
        base_momentum: EMA momentum at step 0, raised to 1 by a cosine.
        mined_weight: final weight of the mined-view loss (0 for BYOL).
        mined_rampup_epochs: epochs of the linear ramp of the mined weight from 0.
        pool_size: global size of the separate candidate pool per step; 0 mines in the batch.
        mining_view: MYOW's query: ``"a"``, view a (its forward shared with the BYOL loss),
            or ``"third"``, a third view of the batch on its own forward, augmented in one
            call with the pool (one crop offset for both where the crop is per batch), as
            the MTNeuro image trainers (``myow_trainer.py:383,445-452,585``).
        seed: seeds every generator of the run.
        log_every: steps between loss read-backs (log lines are still per step).
        checkpoint_every: epochs between checkpoints (one is always written at the end).
        checkpoint_minutes: also checkpoint inside an epoch once this many minutes have
            passed since the last checkpoint (at the next loss read-back; single-process
            runs; :mod:`mtneuro.ssl.epoch_position`); None: at epoch boundaries only.
        amp: ``"auto"`` (bf16 on CUDA, fp16 on GPUs without bf16; off on CPU),
            ``"none"``, ``"bf16"`` (also on CPUs with AMX / AVX512-BF16, opt-in: 2-3x faster
            there, but not bitwise resumable across machines), ``"fp16"`` (CUDA only, with
            a gradient scaler).
        channels_last: NHWC memory format for 2D images where it pays
            (:func:`~mtneuro.acceleration.channels_last_pays`: CUDA, and CPU unless
            the model hits a oneDNN fp32 crash).
        compile: ``torch.compile`` the online and target encoders in place
            (:func:`~mtneuro.acceleration.compile_encoders`).
        retain_cpu_memory: on CPU, keep freed memory for reuse during :meth:`Trainer.fit`
            (:func:`~mtneuro.cpu_memory.retained_cpu_memory`): faster, higher peak memory.
        step: how each step is driven: ``"eager"``, ``"static"`` (static buffers and
            device-tensor schedules, no host synchronisation), ``"cuda_graph"`` (static,
            captured once and replayed), or ``"auto"`` (:func:`~mtneuro.acceleration.resolve_step`).
        compile_mode: ``torch.compile`` mode of the static step's forward and update
            (:data:`mtneuro.vocab.COMPILE_MODES`).
        fuse_target_views: one target-encoder forward for both views and the pool; its
            batch norms then see the concatenation (not the MTNeuro protocol: off).
        prefetch_indices: move each epoch's sample order and pool draws to the device at
            its start (a step's host copy waits for the device). Same results either way.
        quiet: no progress bar or progress lines.
    """

    epochs: int
    batch_size: int
    lr: float
    warmup_epochs: float = 10.0
    base_momentum: float = 0.996
    mined_weight: float = 0.0
    mined_rampup_epochs: float = 10.0
    pool_size: int = 0
    mining_view: Literal["a", "third"] = "a"
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 1
    checkpoint_minutes: float | None = None
    amp: Amp = "auto"
    channels_last: bool = True
    compile: bool = False
    retain_cpu_memory: bool = True
    step: Step = "auto"
    compile_mode: CompileMode = "auto"
    fuse_target_views: bool = False
    prefetch_indices: bool = True
    quiet: bool = False


DEFAULTS = {f.name: f.default for f in fields(TrainSettings)}
#: Checkpoint key of the stored :attr:`RunConfig.values`.
RUN_CONFIG_KEY = "run_config"


@dataclass(frozen=True)
class RunConfig:
    """A run's complete config, stored in its checkpoints and compared on resume.

    Attributes:
        values: every field, as plain JSON types (the checkpoint loads with
            ``torch.load(weights_only=True)``).
        may_change: the fields a resumed run may change (output folder, logging, ...).
        defaults: each field's default, the value a checkpoint written before the field
            existed ran with.
        judged_by: field -> the key that decides instead, where the field only names what
            the key measures: a source parameter spelt another way (a default given, a
            cache's root moved) that reads the same training images (their digest). A
            difference passes while the stored config has that key and the current one
            either lacks it (a command's check before it reads data) or holds the same value.
    """

    values: Mapping[str, Any]
    may_change: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    judged_by: Mapping[str, str] = field(default_factory=dict)


def _config_problem(before: Mapping[str, Any], config: RunConfig) -> str | None:
    for key, value in config.values.items():
        if key in config.may_change or (key not in before and key not in config.defaults):
            continue
        old = before.get(key, config.defaults.get(key))
        if old == value:
            continue
        judge = config.judged_by.get(key)
        if judge in before and config.values.get(judge, before[judge]) == before[judge]:
            continue
        return f"{key} was {old!r}, now {value!r}"
    return None


def resume_problem(state: Mapping[str, Any], method: str, settings: TrainSettings,
                   config: RunConfig | None = None, world_size: int = 1) -> str | None:
    """Why checkpoint ``state`` cannot continue a run of ``method`` with ``settings`` and
    ``config`` (``"method was 'myow', now 'byol'"``; ``None``: it can). :meth:`Trainer.fit`
    checks it; a command can, before reading data.

    The method is compared first, as its other settings differ because of it; then every
    field of ``config`` but :attr:`RunConfig.may_change`, if the checkpoint stores a config
    (checkpoints written before configs were stored have only their settings); then the
    settings. A key missing from an older checkpoint had its default then;
    :data:`RESUMABLE_CHANGES` may differ. Last the number of processes (``world_size``):
    each process draws its own views, so another count would not continue the same run.
    """
    if state.get("method_name", method) != method:
        return f"method was {state['method_name']!r}, now {method!r}"
    if config is not None and RUN_CONFIG_KEY in state:
        problem = _config_problem(state[RUN_CONFIG_KEY], config)
        if problem is not None:
            return problem
    before = state["settings"]
    for key, value in asdict(settings).items():
        then = before.get(key, DEFAULTS.get(key))
        if key not in RESUMABLE_CHANGES and then != value:
            return f"{key} was {then!r}, now {value!r}"
    then = state.get("world_size", world_size)  # checkpoints before it was stored: unchecked
    if then != world_size:
        how = f"torchrun --nproc_per_node {then}" if then > 1 else "one process (no torchrun)"
        return (f"it was written by {_processes(then)}, this run has {_processes(world_size)}; "
                f"each process draws its own views, so resume it with {how}")
    return None


def _processes(count: int) -> str:
    return "one process" if count == 1 else f"{count} processes"


def check_resume(state: Mapping[str, Any], method: str, settings: TrainSettings,
                 config: RunConfig | None, where: str, hint: str = "",
                 world_size: int = 1) -> None:
    """Raise if :func:`resume_problem` finds one: ``"cannot resume WHERE: PROBLEM HINT"``.

    Raises:
        ConfigError: the checkpoint stores a run config and ``config`` differs from it (the
            user's config is what has to change back).
        TrainingError: a checkpoint without a stored config whose method or settings differ
            (as before configs were stored).
    """
    problem = resume_problem(state, method, settings, config, world_size)
    if problem is None:
        return
    error = ConfigError if config is not None and RUN_CONFIG_KEY in state else TrainingError
    raise error(f"cannot resume {where}: {problem}{hint}")


def warn_other_step_plan(ran: Sequence[Any] | None, plan: StepPlan, where: str) -> None:
    """Warn when a run resumed from checkpoint ``where`` drives its step otherwise than the
    run it continues did (``ran``: its stored ``[mode, compile_mode]``; None: a checkpoint
    from before it was stored): the modes agree up to float rounding only."""
    if ran is not None and list(ran) != [plan.mode, plan.compile_mode]:
        warnings.warn(f"resuming {where} with step {_plan_name(plan)}, not "
                      f"{_plan_name(StepPlan(*ran))} as it ran: the step modes agree up to "
                      "float rounding, so the run will not end bit-identical to an "
                      "uninterrupted one", stacklevel=3)  # the trainer's fit


def _plan_name(plan: StepPlan) -> str:
    return plan.mode + (f" compiled ({plan.compile_mode})" if plan.compile_mode else "")
