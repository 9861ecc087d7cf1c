"""Which torch device a ``device`` setting names, checked against this machine.

A name torch parses but this machine cannot run on (``cuda`` without a GPU, ``cuda:3``
with two, ``mps`` off Apple silicon) fails here in one line before any data is read,
instead of deep inside the first ``.to(device)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from mtneuro.errors import ConfigError

DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str, key: str = "device") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other name must parse and be
    present on this machine.

    Raises:
        ConfigError: naming ``key``, the value and what was expected.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"{key}: expected {DEVICE_NAMES}, got {name!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{key} {name!r}: CUDA is not available on this machine; "
                              "use device='cpu' (--device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{key} {name!r}: this machine has {torch.cuda.device_count()} "
                              f"CUDA device(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    if device.type == "mps" and not _mps_available():
        raise ConfigError(f"{key} {name!r}: MPS (Apple GPU) is not available on this machine; "
                          "use device='cpu' (--device cpu)")
    return device


def with_run_device(config: Any, key: str = "device") -> Any:
    """``config`` (a dataclass with ``device`` and an optional nested ``pretrain`` config)
    with its device named as it runs (``"auto"`` -> ``"cuda"`` or ``"cpu"``, checked by
    :func:`resolve_device`), so its record says where it ran; the pre-training's the same."""
    device = str(resolve_device(config.device, key))
    nested = getattr(config, "pretrain", None)
    values = {"device": device}
    if nested is not None:
        values["pretrain"] = dataclasses.replace(nested, device=device)
    return dataclasses.replace(config, **values)


def checked_run_config(config: Any, config_type: type, caller: str) -> Any:
    """``config``, refused unless a ``config_type``, with its device named as it runs
    (:func:`with_run_device`): what a task run does once, before any data is read, by
    whichever public entry point it came through, so that its record names the device.

    Raises:
        ConfigError: ``config`` is another type, naming ``caller`` and both types.
    """
    if not isinstance(config, config_type):
        raise ConfigError(f"{caller}: expected a {config_type.__name__}, "
                          f"got {type(config).__name__}")
    return with_run_device(config)
