"""Leave the caller's global random states as they were around a block that seeds them.

Runs seed torch (and pre-training also Python's ``random`` and NumPy) globally, as the
reference code does; a notebook that builds an encoder after :func:`mtneuro.evaluate`
must not get the weights seed 0 gives. The block's own results do not change: it starts
from the same states as without this guard.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from mtneuro.ssl.checkpoint import capture_rng_state, restore_rng_state


@contextmanager
def kept_random_state(*, start_cuda: bool = False) -> Iterator[None]:
    """Restore, on leaving, the states of Python's ``random``, NumPy's global generator,
    torch's CPU generator and, where CUDA had started, CUDA's generators.

    Where CUDA has not started, ``torch.manual_seed`` queues the seed for when it does; a
    seed the block queued is dropped again, so the caller's first CUDA draws are those it
    would have had.

    Args:
        start_cuda: start CUDA (where available) to keep its states too, for a block that
            runs on it; by default a CPU-only caller's CUDA is left unstarted.
    """
    state = capture_rng_state(start_cuda=start_cuda)
    queued = _queued_cuda_seeds()
    try:
        yield
    finally:
        restore_rng_state(state)
        _requeue_cuda_seeds(queued)


def _queued_cuda_seeds() -> dict[str, Any] | None:
    # torch keeps the queue in a private tracker; a torch without it is left as it is
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is None or torch.cuda.is_initialized():
        return None
    return copy.copy(vars(tracker))


def _requeue_cuda_seeds(queued: dict[str, Any] | None) -> None:
    if queued is None or torch.cuda.is_initialized():  # started in the block: seeds ran
        return
    vars(torch.cuda._lazy_seed_tracker).update(queued)
