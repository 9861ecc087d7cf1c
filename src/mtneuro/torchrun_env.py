"""The variables ``torchrun`` sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``), read in one
place: a value left over in a shell (``WORLD_SIZE=abc``, ``WORLD_SIZE=2`` outside torchrun)
fails in one line naming the variable, not in a traceback from ``int()`` or from torch's
process-group set-up."""

from __future__ import annotations

import os

from mtneuro.errors import ConfigError

#: what else a process of a job of several needs (torchrun sets them all)
_JOB_VARIABLES = ("RANK", "MASTER_ADDR", "MASTER_PORT")


def torchrun_int(name: str, default: int) -> int:
    """The integer ``name`` holds (``default`` when unset or empty).

    Raises:
        ConfigError: not an integer >= 0 (``WORLD_SIZE``: >= 1).
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    least = 1 if name == "WORLD_SIZE" else 0
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise ConfigError(f"environment variable {name}={raw!r}: expected an integer >= {least} "
                          "(torchrun sets it); unset it to run as one process")
    return value


def world_size() -> int:
    """``WORLD_SIZE`` (1 outside torchrun); above 1, the job's other variables must be set.

    Raises:
        ConfigError: a bad value, or ``WORLD_SIZE`` > 1 without ``RANK``, ``MASTER_ADDR`` or
            ``MASTER_PORT`` (a value left over in a shell, not a torchrun job).
    """
    size = torchrun_int("WORLD_SIZE", 1)
    missing = [name for name in _JOB_VARIABLES if not os.environ.get(name, "").strip()]
    if size > 1 and missing:
        raise ConfigError(f"environment variable WORLD_SIZE={size} but {', '.join(missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} not set: start several "
                          "processes with torchrun, or unset WORLD_SIZE to run as one")
    return size
