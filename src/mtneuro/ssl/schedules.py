"""Step-indexed schedules for learning rate, EMA momentum and the MYOW mined-loss weight.

Pure functions of the (0-based) optimisation step, so a resumed run reproduces the
values exactly. All raise ``ValueError`` quoting a negative step, a bad length or an
unknown schedule name (the last a :class:`~mtneuro.errors.ConfigError`, which is one).

- :func:`cosine_schedule` - cosine from ``start`` (step 0) to ``end`` (step ``max_steps``).
- :func:`warmup_cosine_lr` - linear warm-up to ``base_lr``, then cosine to ``final_lr``.
- :func:`warmup_lr` - linear warm-up, then constant or cosine (the two drivers' choices).
- :func:`momentum_schedule` - BYOL's EMA rate ``1 - (1 - base)(cos(pi k / K) + 1) / 2``.
- :func:`ema_momentum` - the EMA rate held at ``base`` or raised by :func:`momentum_schedule`.
- :func:`linear_ramp` - MYOW's mined weight: 0 until ``start_step``, linear to ``final``.
- :func:`lars_lr` - the linear scaling rule ``base_lr * batch_size / 256``.
"""

from __future__ import annotations

import math

from mtneuro.registry import check_choice

#: The learning-rate decays of :func:`warmup_lr` after its warm-up.
LR_DECAYS = ("cosine", "constant")
#: The target EMA schedules of :func:`ema_momentum`.
MOMENTUM_SCHEDULES = ("cosine", "constant")


def _check_step(step: int, name: str = "step") -> None:
    if step < 0:
        raise ValueError(f"{name}: expected a non-negative step, got {step!r}")


def cosine_schedule(step: int, max_steps: int, start: float, end: float) -> float:
    """Cosine interpolation: ``start`` at step 0, ``end`` at ``max_steps`` and after.

    ``value = end - (end - start) * (cos(pi * step / max_steps) + 1) / 2``.
    """
    _check_step(step)
    if max_steps < 1:
        raise ValueError(f"max_steps: expected int >= 1, got {max_steps!r}")
    if step >= max_steps:
        return float(end)
    return end - (end - start) * (math.cos(math.pi * step / max_steps) + 1) / 2


def warmup_cosine_lr(
    step: int, total_steps: int, warmup_steps: int, base_lr: float, final_lr: float = 0.0
) -> float:
    """Learning rate with linear warm-up then cosine decay.

    Steps ``0 .. warmup_steps - 1`` rise linearly as ``base_lr * step / warmup_steps``, from 0
    at step 0, as MTNeuro's image pre-training does (``ScheduleExtension._linear_warmup`` of
    ``self_supervised/trainer/trainer.py``, called with the step before it is counted); then
    cosine from ``base_lr`` at ``warmup_steps`` to ``final_lr`` at ``total_steps`` (held
    after).
    """
    _check_step(step)
    if total_steps < 1 or not 0 <= warmup_steps <= total_steps:
        raise ValueError(
            f"warmup_steps/total_steps: expected 0 <= warmup <= total and total >= 1, "
            f"got {warmup_steps!r}/{total_steps!r}"
        )
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if total_steps == warmup_steps:
        return float(base_lr)
    return cosine_schedule(step - warmup_steps, total_steps - warmup_steps, base_lr, final_lr)


def warmup_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float,
              decay: str = "cosine") -> float:
    """The neural driver's learning rate: a linear warm-up over ``warmup_steps`` that already
    moves at step 0 (``base_lr * (step + 1) / warmup_steps``), then ``decay``: ``"cosine"``
    to 0 (:func:`warmup_cosine_lr`) or ``"constant"`` at ``base_lr``.

    Raises:
        ConfigError: ``decay`` is neither (a silent constant rate would follow a typo).
    """
    check_choice("decay", decay, LR_DECAYS)
    _check_step(step)
    if step < warmup_steps:  # our own warm-up (the neural references have none): step 0 moves
        return base_lr * ((step + 1) / warmup_steps)  # rounded as the constant decay was
    if decay == "cosine":
        return warmup_cosine_lr(step, total_steps, warmup_steps, base_lr)
    return float(base_lr)


def momentum_schedule(step: int, total: int, base: float) -> float:
    """BYOL target EMA rate: ``base`` at step 0, rising to 1 at ``total`` (cosine)."""
    if not 0.0 <= base <= 1.0:
        raise ValueError(f"base momentum: expected float in [0, 1], got {base!r}")
    return cosine_schedule(step, total, base, 1.0)


def ema_momentum(step: int, total: int, base: float, schedule: str = "cosine") -> float:
    """Target EMA rate: :func:`momentum_schedule` (``"cosine"``) or ``base`` throughout
    (``"constant"``).

    Raises:
        ConfigError: ``schedule`` is neither (a silent constant rate would follow a typo).
    """
    check_choice("schedule", schedule, MOMENTUM_SCHEDULES)
    return momentum_schedule(step, total, base) if schedule == "cosine" else float(base)


def linear_ramp(step: int, ramp_steps: int, final: float, start_step: int = 0) -> float:
    """0 before ``start_step``, then linear to ``final`` over ``ramp_steps`` steps, then ``final``.

    MYOW ramps its mined-loss weight this way (``start_step`` = BYOL-only warm-up).
    ``ramp_steps = 0`` jumps to ``final`` at ``start_step``.
    """
    _check_step(step)
    if ramp_steps < 0 or start_step < 0:
        raise ValueError(
            f"ramp_steps/start_step: expected non-negative ints, got {ramp_steps!r}/{start_step!r}"
        )
    if step < start_step:
        return 0.0
    if ramp_steps == 0:
        return float(final)
    return final * min(1.0, (step - start_step) / ramp_steps)


def lars_lr(base_lr: float, batch_size: int) -> float:
    """Linear scaling rule (Goyal et al. 2017, used by BYOL/MTNeuro): ``base_lr * B / 256``."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected int >= 1, got {batch_size!r}")
    return base_lr * batch_size / 256
