"""Training checkpoints: everything needed to continue a run exactly.

A checkpoint holds the method's weights (online and target networks, heads),
the optimiser state, the AMP grad-scaler state, the step / epoch counters, the
schedule settings and the random-number states (Python, NumPy, torch CPU and
CUDA, plus any named ``torch.Generator``). It is written atomically: to a
temporary file in the same directory, then ``os.replace``, so an interrupted
write leaves the previous good checkpoint in place.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.errors import TrainingError

CHECKPOINT_VERSION = 1


def capture_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Snapshot every random-number state a run may draw from.

    Args:
        generators: extra named generators (e.g. the sampler's) to include.
    """
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": {name: g.get_state() for name, g in (generators or {}).items()},
    }
    return state


def restore_rng_state(
    state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None
) -> None:
    """Restore states saved by :func:`capture_rng_state` (generators matched by name)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        # A run resumed on fewer GPUs restores the devices it has.
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        for index, cuda_state in enumerate(cuda_states):
            torch.cuda.set_rng_state(cuda_state, index)
    for name, generator in (generators or {}).items():
        saved = state.get("generators", {}).get(name)
        if saved is not None:
            generator.set_state(saved)


def save_checkpoint(path: str | Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (plus a format version) to ``path`` atomically.

    The temporary file lives in the target directory so ``os.replace`` is a
    rename on one file system, which POSIX makes atomic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save({"checkpoint_version": CHECKPOINT_VERSION, **payload}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Never leave a half-written temp file behind (e.g. Ctrl-C during the write).
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        TrainingError: the file is missing, unreadable or of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"no checkpoint to resume from at {path}")
    try:
        # RNG states contain NumPy arrays and tuples, so the full unpickler is needed;
        # checkpoints are files this package wrote itself.
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise TrainingError(f"cannot read checkpoint {path}: {err}") from None
    version = payload.get("checkpoint_version") if isinstance(payload, dict) else None
    if version != CHECKPOINT_VERSION:
        raise TrainingError(
            f"{path} is not a training checkpoint of version {CHECKPOINT_VERSION} (got {version!r})"
        )
    return payload
