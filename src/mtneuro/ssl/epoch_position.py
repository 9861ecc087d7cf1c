"""An epoch's generators, and checkpoints inside an epoch: when one is due, and where the
epoch's generators stood.

Every random draw of epoch ``e`` comes from a generator seeded by ``(seed, e, stream)``
(:func:`epoch_generator`; the views and the method's own draws also by rank), so an epoch
boundary needs no generator state to resume from.

An epoch of a large volume can take hours, so the trainer also checkpoints every
``checkpoint_minutes`` at a loss read-back (where no loss term is pending). Such a
checkpoint stores the steps done in its epoch and the states of the epoch's view and method
generators; the sample order and pool draws are made again from their seeds (a pool drawn
step by step is advanced past the steps done), so a run resumed from it replays the rest of
the epoch as an uninterrupted run would. Only single-process runs take them: each rank of a
``torchrun`` job has generators of its own, and only the main rank writes checkpoints.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

#: The generator streams of one epoch: sample order, pool draws, views, the method's draws.
ORDER, POOL, VIEWS, METHOD = range(4)
#: Checkpoint key of a mid-epoch position (absent or None: an epoch boundary).
POSITION_KEY = "epoch_position"


def derive_seed(*keys: int) -> int:
    """A 63-bit seed mixing ``keys`` (NumPy's SeedSequence hashing; no collisions in practice)."""
    # int() first: NumPy 1.x refuses uint64 >> int
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def epoch_generator(device: torch.device, *keys: int) -> torch.Generator:
    """A generator on ``device`` seeded by :func:`derive_seed` of ``keys``
    (``seed, epoch, stream[, rank]``)."""
    return torch.Generator(device=device).manual_seed(derive_seed(*keys))


class CheckpointClock:
    """Whether ``minutes`` have passed since the last checkpoint (None: never due; 0: due at
    every read-back)."""

    def __init__(self, minutes: float | None) -> None:
        self.minutes = minutes
        self.reset()

    def reset(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return self.minutes is not None and time.monotonic() - self.last >= 60.0 * self.minutes


def position_state(steps_done: int, generators: Mapping[str, torch.Generator]) -> dict[str, Any]:
    """What a mid-epoch checkpoint stores: the epoch's ``steps_done`` and the state of each
    of its ``generators`` (by stream name), with their device type."""
    device = next(iter(generators.values())).device.type
    return {"steps_done": int(steps_done), "device_type": device,
            "generators": {name: gen.get_state() for name, gen in generators.items()}}


def resume_in_epoch(position: Mapping[str, Any], generators: Mapping[str, torch.Generator],
                    pool: torch.Generator | None, n: int, where: str) -> int:
    """Put the epoch's ``generators`` where the mid-epoch checkpoint ``where`` says they
    stood, and draw from ``pool`` (the pool generator, where pools are drawn step by step)
    the pools of the ``n`` samples the steps done drew; returns the steps done.

    Generators of another device type (a checkpoint of a CPU run resumed on a GPU) cannot
    take those states: they keep their fresh draws, and a warning says the run will not
    repeat the interrupted one."""
    done = int(position["steps_done"])
    device = next(iter(generators.values())).device.type
    if position["device_type"] != device:
        warnings.warn(f"resuming {where} inside an epoch on {device}, but it was written on "
                      f"{position['device_type']}: the rest of the epoch draws other views, so "
                      "the run will not end as the uninterrupted one would", stacklevel=3)
    else:
        for name, generator in generators.items():
            generator.set_state(position["generators"][name])
    for _ in range(done if pool is not None else 0):
        torch.randperm(n, generator=pool)
    return done
