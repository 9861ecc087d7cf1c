"""Training checkpoints: everything needed to continue a run exactly.

A checkpoint holds the method's name and weights (online and target networks, heads),
the optimiser state, the AMP grad-scaler state, the step / epoch counters, the
loop settings, the caller's complete run config where it gives one (``run_config``: plain
values, see :class:`mtneuro.ssl.settings.RunConfig`), the divergence guard's losses and the
random-number states (Python, NumPy, torch CPU and CUDA).
It is written atomically and holds only
tensors and plain values (:mod:`mtneuro.checkpoint_io`), so resuming reads it
with ``torch.load(weights_only=True)``: a file planted in a run folder cannot
run code. The NumPy state is stored as a tensor of its key words, the Python
state as a list; both restore bit-exactly.

On resume the run log ``train_log.jsonl`` is cut back to the checkpoint's step
(:func:`truncate_log`); a torn last line, as a full disk or a power loss leaves,
is dropped with a warning.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.checkpoint_io import check_keys, load_state, save_state, write_atomic
from mtneuro.errors import CheckpointError, DataError
from mtneuro.ssl.settings import RUN_CONFIG_KEY

#: 2: random-number states as tensors and plain values (loads with ``weights_only=True``).
CHECKPOINT_VERSION = 2
WHAT = "training checkpoint"
#: How a run whose checkpoint or log cannot be resumed starts again (without --resume its
#: folder is refused: it already holds a run).
AFRESH = ("to start the run afresh, rerun the command with --overwrite instead of --resume "
          "(it replaces the run's files)")
#: What :class:`~mtneuro.ssl.trainer.Trainer` saves, with the type of each value.
REQUIRED = {
    "method": dict,
    "optimizer": dict,
    "scaler": (dict, type(None)),
    "step": int,
    "epoch": int,
    "settings": dict,
    "rng": dict,
}


def capture_rng_state(*, start_cuda: bool = True) -> dict[str, Any]:
    """Snapshot every global random-number state a run may draw from, as tensors and plain
    values (the trainer's own generators are seeded per epoch, so they need no state).

    Args:
        start_cuda: read CUDA's states even where CUDA has not started in this process
            (reading them starts it); ``False`` leaves them out there (``"cuda": []``).
    """
    version, words, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.is_available() and (start_cuda or torch.cuda.is_initialized())
    return {
        "python": [version, list(words), gauss],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if cuda else [],
    }


def _python_state(saved: Any) -> tuple:
    version, words, gauss = saved
    return int(version), tuple(int(w) for w in words), None if gauss is None else float(gauss)


def _numpy_state(saved: Mapping[str, Any]) -> tuple:
    keys = saved["keys"]
    if not isinstance(keys, torch.Tensor):
        raise TypeError(f"numpy keys: expected a tensor, got {type(keys).__name__}")
    return (str(saved["kind"]), keys.numpy().astype(np.uint32), int(saved["pos"]),
            int(saved["has_gauss"]), float(saved["cached_gaussian"]))


def check_rng_state(state: Mapping[str, Any]) -> None:
    """Raise (KeyError, TypeError, ValueError) if ``state`` cannot be restored.

    Each state is set on a throwaway generator, so nothing global changes.
    """
    random.Random().setstate(_python_state(state["python"]))
    np.random.RandomState().set_state(_numpy_state(state["numpy"]))
    torch.Generator().set_state(state["torch"])
    for saved in state.get("cuda", []):
        if not isinstance(saved, torch.Tensor) or saved.dtype != torch.uint8:
            raise TypeError("generator states must be uint8 tensors")


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore states saved by :func:`capture_rng_state`."""
    random.setstate(_python_state(state["python"]))
    np.random.set_state(_numpy_state(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        # A run resumed on fewer GPUs restores the devices it has.
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        for index, cuda_state in enumerate(cuda_states):
            torch.cuda.set_rng_state(cuda_state, index)


def save_checkpoint(path: str | Path, payload: Mapping[str, Any], *,
                    position: str = "") -> Path:
    """Write ``payload`` (plus a format version) to ``path`` atomically; ``position``: where
    the run is (:func:`~mtneuro.checkpoint_io.save_state`).

    Raises:
        TypeError: ``payload`` holds a value ``torch.load(weights_only=True)`` refuses (a bug).
    """
    return save_state(path, {"checkpoint_version": CHECKPOINT_VERSION, **payload},
                      position=position)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (nothing in the file is executed).

    Raises:
        CheckpointError: the file is missing, does not load with ``weights_only=True``, is
            of another format version, or lacks a key of :data:`REQUIRED` (one line each).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint to resume from at {path}")
    payload = load_state(path, what=WHAT, map_location=map_location, damaged_fix=AFRESH)
    version = payload.get("checkpoint_version")
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} is not a training checkpoint of version {CHECKPOINT_VERSION} "
            f"(got {version!r}); {AFRESH}"
        )
    check_keys(payload, REQUIRED, path, WHAT)
    if RUN_CONFIG_KEY in payload:  # optional: checkpoints before it have only "settings"
        check_keys(payload, {RUN_CONFIG_KEY: dict}, path, WHAT)
    try:
        check_rng_state(payload["rng"])
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{WHAT} {path}: 'rng' holds no restorable random-number states "
            f"({type(err).__name__}: {err})"
        ) from None
    return payload


def method_name(method: torch.nn.Module) -> str:
    """The registry name of an SSL method object (``byol``, ``myow``, ``myow-merged``)."""
    layout = getattr(method, "layout", None)
    if layout is None:
        return type(method).__name__.lower()
    return "myow" if layout == "cascaded" else f"myow-{layout}"


def truncate_log(path: Path, step: int) -> list[dict[str, Any]]:
    """Keep the records of ``path`` (JSON lines) up to ``step``; later steps are replayed.

    A torn last line (a write cut short) is dropped with one warning naming the file
    and line; any other line that is not a record with an integer ``step`` means the
    log is damaged. The file is rewritten atomically.

    Returns:
        The records kept, in order.

    Raises:
        DataError: a damaged line before the last one.
    """
    if not path.is_file():
        return []
    lines = path.read_bytes().split(b"\n")
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    kept, kept_lines = [], []
    for n, line in numbered:
        record = _log_record(line)
        if record is None and n == numbered[-1][0]:
            warnings.warn(
                f"{path}: line {n} is torn (a write cut short, e.g. by a full disk or a power "
                "loss) and was dropped; resuming from the checkpoint", UserWarning, stacklevel=3)
            break
        if record is None:
            raise DataError(
                f"{path}: line {n} is not a log record with an integer 'step', so the log is "
                f"damaged; delete that line, or {AFRESH}"
            )
        if record["step"] <= step:
            kept.append(record)
            kept_lines.append(line + b"\n")
    write_atomic(path, b"".join(kept_lines))
    return kept


def _log_record(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:  # also UnicodeDecodeError
        return None
    ok = isinstance(record, dict) and type(record.get("step")) is int
    return record if ok else None
