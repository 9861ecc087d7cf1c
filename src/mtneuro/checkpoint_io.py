"""Checkpoint files that load without running code: tensors and plain values only.

Every checkpoint mtneuro writes (pre-training and task 2 training checkpoints,
encoder files) goes through :func:`save_state` and is read back by
:func:`load_state`, which calls ``torch.load(weights_only=True)``. That unpickler
rebuilds only tensors and containers (dict, list, tuple) of str, int, float,
bool and None, so a file someone placed in a run folder cannot run code: a
pickled object, a ``__reduce__`` payload or a NumPy array is refused before
anything is built. :func:`save_state` checks a payload has only such values
before it writes, so every file it writes can be read back this way.

A file that is missing, damaged, not of this kind, or lacks a key the caller
needs fails with one line (:class:`~mtneuro.errors.CheckpointError`) naming the
file and what was expected. torch checks neither the zip's CRCs nor the tensors'
bytes, so a file changed after it was written (a flipped bit on disk, a bad copy) would
load and be trained on: :func:`save_state` stores a SHA-256 of the contents under
:data:`INTEGRITY_KEY` and :func:`load_state` refuses a file whose contents no longer match
(files written before it, without the key, are read unchecked).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import pickletools
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.atomic import write_atomic
from mtneuro.errors import CheckpointError

#: Values a checkpoint may hold at its leaves (containers: dict, OrderedDict, list, tuple).
#: Exact types: a subclass (NumPy's float64, an IntEnum, a dict subclass) pickles by class name.
PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter, str, int, float, bool, type(None))
_CONTAINERS = (dict, OrderedDict, list, tuple)
_SAFE_LOAD = "torch.load(weights_only=True), tensors and plain values only"
#: The key of the contents' SHA-256 (:func:`content_digest`) in every file save_state writes.
INTEGRITY_KEY = "content_sha256"
#: What to do about a damaged file, unless the caller knows better.
_DAMAGED_FIX = "use a good copy, or rerun what wrote it"


def check_plain(value: Any, where: str = "checkpoint") -> None:
    """Raise ``TypeError`` naming the first value ``torch.load(weights_only=True)`` would refuse."""
    if type(value) in _CONTAINERS:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and type(key) not in (str, int):
                raise TypeError(f"{where}: key {key!r} is not a str or int")
            check_plain(item, f"{where}[{key!r}]")
    elif type(value) not in PLAIN_TYPES:
        raise TypeError(
            f"{where}: a {type(value).__name__} cannot be loaded with weights_only=True; "
            "store it as tensors or plain values"
        )


def content_digest(value: Any) -> str:
    """SHA-256 of a checkpoint payload's contents: every tensor's dtype, shape and bytes and
    every plain value, in key order, so the same contents give the same digest however
    ``torch.save`` laid them out (and wherever the tensors were loaded)."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"T{tensor.dtype}{tuple(value.shape)}:".encode())
        digest.update(tensor.view(torch.uint8).numpy())
    elif isinstance(value, Mapping):
        digest.update(b"{")
        for key in sorted(value, key=lambda k: (type(k).__name__, k)):
            digest.update(f"{type(key).__name__}:{key!r}=".encode())
            _feed(digest, value[key])
        digest.update(b"}")
    elif isinstance(value, (list, tuple)):
        digest.update(f"[{len(value)}:".encode())
        for item in value:
            _feed(digest, item)
        digest.update(b"]")
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


def plain_json(value: Any) -> Any:
    """``value`` as JSON would give it back: tuples become lists, NumPy scalars and arrays
    plain numbers and lists, paths strings; anything else raises ``TypeError``."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint: {value!r}")


def save_state(path: str | os.PathLike, payload: Mapping[str, Any], *,
               position: str = "") -> Path:
    """Write ``payload`` with ``torch.save`` atomically (see :func:`write_atomic`).

    ``position``: where a training run was when it wrote this checkpoint (``"step 40/800,
    epoch 10/200"``), for the message of a run stopped later (:func:`last_position`).

    Raises:
        TypeError: ``payload`` holds a value that would not load back safely (a bug).
    """
    payload = {k: v for k, v in payload.items() if k != INTEGRITY_KEY}
    check_plain(payload)
    payload[INTEGRITY_KEY] = content_digest(payload)
    # serialised in memory first: a write that fails (disk full) then raises its OSError,
    # where torch.save into the file raised a RuntimeError that hid it
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    written = write_atomic(path, buffer.getvalue())
    _SAVED.append((written, position))
    return written


#: the files :func:`save_state` wrote in this process (what a Ctrl-C leaves to resume from),
#: each with its run's position ("" for a file of no training position, as an encoder)
_SAVED: list[tuple[Path, str]] = []


def saved_this_process() -> bool:
    """Whether this process wrote a checkpoint (or encoder file) with :func:`save_state`."""
    return bool(_SAVED)


def forget_saved() -> None:
    """Start a new command's record of saved files (tests run many commands in a process)."""
    _SAVED.clear()


def last_position() -> str:
    """The position of the last checkpoint this process wrote with one (``""``: none)."""
    return next((position for _, position in reversed(_SAVED) if position), "")


def load_state(
    path: str | os.PathLike,
    *,
    what: str,
    required: Mapping[str, type | tuple[type, ...]] | None = None,
    map_location: str | torch.device = "cpu",
    pickled_fix: str = "",
    damaged_fix: str = _DAMAGED_FIX,
) -> dict[str, Any]:
    """Read a dict written by :func:`save_state` without running any code from the file.

    Args:
        path: the file.
        what: what the file should be, for messages (e.g. ``"training checkpoint"``).
        required: keys the dict must have, with the type(s) of each value.
        map_location: where tensors are loaded.
        pickled_fix: what to do instead, said when the file holds pickled Python objects
            (e.g. a whole model from ``torch.save(model)``).
        damaged_fix: what to do about a damaged file (e.g. how to start a run afresh).

    Raises:
        CheckpointError: the file is missing or does not load with ``weights_only=True``
            (damaged, another program's, or holding pickled objects), is not a dict, or
            lacks a required key / has one of another type.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} not found")
    if path.stat().st_size == 0:  # torch says only "EOFError"
        raise CheckpointError(f"{what} {path} is empty (0 bytes: a write cut short, or a file "
                              f"created empty); {damaged_fix}")
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the refusal below says it
            warnings.filterwarnings("ignore", module="torch._weights_only_unpickler")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        refused = "Weights only load failed" in str(err)  # a pickled global, not a device
        if map_location is not None and not refused and "device" in str(err).lower():
            raise CheckpointError(f"{what} {path} cannot be loaded onto {map_location}: "
                                  f"{_reason(err)}") from None
        fix = f"; {pickled_fix}" if pickled_fix else ""
        if _PICKLED.search(str(err)):  # an intact file that would run code: say so
            why = ("it holds pickled Python objects, which mtneuro never unpickles (they can "
                   f"run code){fix}")
        elif _is_plain_pickle(path):  # torch's "Unsupported operand 149" is no damage
            raise CheckpointError(f"{what} {path} is a pickle file (written by pickle.dump, "
                                  "not torch.save), which mtneuro never unpickles (pickles can "
                                  f"run code){fix}") from None
        else:  # torch's own reason (e.g. "KeyError: 101") means little alone
            why = ("the file is damaged or was not written by this version of mtneuro; "
                   f"{damaged_fix}")
        raise CheckpointError(f"{what} {path} is not a torch checkpoint that loads safely "
                              f"({_SAFE_LOAD}): {_reason(err)}; {why}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{what} {path}: expected a dict, got {type(payload).__name__}")
    recorded = payload.pop(INTEGRITY_KEY, None)
    if recorded is not None and recorded != content_digest(payload):
        raise CheckpointError(f"{what} {path} is damaged: its contents no longer match the "
                              f"SHA-256 saved with them (changed on disk or in a copy); "
                              f"{damaged_fix}")
    check_keys(payload, required or {}, path, what)
    return payload


def check_keys(payload: Mapping[str, Any], required: Mapping[str, type | tuple[type, ...]],
               path: str | os.PathLike, what: str) -> None:
    """Fail in one line when ``payload`` lacks a key of ``required`` or holds another type."""
    missing = [key for key in required if key not in payload]
    if missing:
        raise CheckpointError(
            f"{what} {path} lacks keys {missing}; it is damaged or of another kind"
        )
    for key, kind in required.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(payload[key], kind) or (isinstance(payload[key], bool)
                                                  and bool not in kinds):
            raise CheckpointError(
                f"{what} {path}: {key!r} must be {' or '.join(t.__name__ for t in kinds)}, "
                f"got {type(payload[key]).__name__}"
            )


def restore_into(target: Any, state: Mapping[str, Any], key: str, path: str | os.PathLike,
                 what: str = "checkpoint") -> None:
    """``target.load_state_dict(state[key])`` with a one-line error when it does not fit.

    ``target`` is anything with ``load_state_dict`` (module, optimiser, scheduler, scaler).

    Raises:
        CheckpointError: the saved state has missing / unexpected entries or other shapes.
    """
    try:
        target.load_state_dict(state[key])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
        raise CheckpointError(
            f"{what} {path}: {key!r} does not fit this run ({_reason(err)})"
        ) from None


#: How much of a file that does not load is read to tell a pickle from a damaged checkpoint.
_SNIFF_BYTES = 1 << 16
#: torch's zip archive (torch.save since 1.6) starts as every zip file does.
_ZIP_MAGIC = b"PK\x03\x04"
#: How torch's older format (``_use_new_zipfile_serialization=False``) opens: its magic
#: number pickled with the protocol it was saved with.
_TORCH_LEGACY_HEADS = tuple(pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=p)
                            for p in range(pickle.HIGHEST_PROTOCOL + 1))


def _is_plain_pickle(path: Path) -> bool:
    """Whether ``path`` starts as a ``pickle.dump`` stream does and is neither torch's zip
    archive nor torch's older format (itself a pickle stream: a few bytes of magic number
    first). Opcodes are only parsed (:mod:`pickletools`), never run."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith((_ZIP_MAGIC, *_TORCH_LEGACY_HEADS)) or any(
            legacy.startswith(head) for legacy in _TORCH_LEGACY_HEADS):  # cut within it
        return False
    if head[:1] == b"\x80" and head[1:2] and 2 <= head[1] <= pickle.HIGHEST_PROTOCOL:
        return True  # the PROTO opcode every pickle of protocol 2 or later opens with
    # protocols 0 and 1 open with no marker, and text or random bytes parse as a few
    # opcodes: the head must hold a whole pickle, its stack checked (a longer one of these
    # old protocols is still called damaged)
    try:
        pickletools.dis(io.BytesIO(head), out=io.StringIO())
    except Exception:  # noqa: BLE001 - bytes that are no pickle raise ValueError, IndexError...
        return False
    return True


#: torch's words for a pickled object its weights-only loader refused (allowed or blocked)
_PICKLED = re.compile(r"Unsupported global|unsupported GLOBAL")


def _reason(err: BaseException, limit: int = 200) -> str:
    """One short line from an exception whose text may span many lines."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(err)).split())
    # torch's weights-only refusal hides the useful part ("Unsupported global: ...") mid-text.
    marker = "WeightsUnpickler error:"
    blocked = text.find("Trying to load unsupported GLOBAL")  # a module torch blocks (os.system)
    if marker in text:
        text = text.split(marker, 1)[1].split(" Check the documentation")[0]
    elif blocked >= 0:
        text = text[blocked:].split(" Check the documentation")[0]
    text = text.split(". ")[0].rstrip(".")  # the first sentence says what is wrong
    text = f"{type(err).__name__}: {text.strip() or 'no details'}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
