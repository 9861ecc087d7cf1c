"""The arguments of :func:`mtneuro.evaluate` checked before anything runs, each failing in one
line naming the argument, the value given and what was expected (a notebook user's typo
raised bare ``TypeError``\\ s from deep inside: ``'int' object is not iterable``).

A base module beside :mod:`mtneuro.api`: it imports no layer.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mtneuro.config import check_seeds
from mtneuro.errors import ConfigError


def _given(value: Any) -> str:
    return f"{value!r:.80} ({type(value).__name__})"


def seed_list(seeds: Any) -> list[int]:
    """``seeds`` as a list: one int is that seed alone (as ``--seeds 0``); anything but an
    int or a non-empty sequence of them fails naming ``seeds``."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    # a string or a mapping is iterable too, but is no list of seeds
    elif isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise ConfigError(f"seeds: expected an int or a sequence of ints in [0, 2**32), "
                          f"e.g. [0, 1, 2], got {_given(seeds)}")
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("seeds: expected at least one seed, got an empty sequence")
    check_seeds(seeds, "seeds")
    if len(set(seeds)) != len(seeds):  # one cell per seed: a repeat is no other seed
        raise ConfigError(f"seeds: expected distinct seeds, got {seeds}")
    return seeds


def task_name_list(tasks: Any) -> list[str]:
    """``tasks`` as a list of names (one name alone is one task), each a string, none twice."""
    if isinstance(tasks, str):
        return [tasks]
    if isinstance(tasks, (bytes, Mapping)) or not isinstance(tasks, Iterable):
        raise ConfigError(f"tasks: expected a task name or a sequence of them, e.g. "
                          f"['task1/roi-c1'] (mtneuro.list_tasks()), got {_given(tasks)}")
    names = list(tasks)
    if not names:  # an empty Results would look like a run that scored nothing
        raise ConfigError("tasks: expected at least one task name, e.g. ['task1/roi-c1'] "
                          "(mtneuro.list_tasks()), got an empty sequence")
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"tasks: expected task names such as 'task1/roi-c1', got "
                              f"{_given(name)}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # one cell each: a repeat would be run again and counted as another seed
        raise ConfigError(f"tasks: {', '.join(twice)} given more than once")
    return names


def out_folder(out: Any) -> Path | None:
    """``out`` as a path (``None`` stays ``None``), refused where it is no path or a file."""
    if out is None:
        return None
    if not isinstance(out, (str, os.PathLike)):
        raise ConfigError(f"out: expected a folder path (str or os.PathLike) or None, got "
                          f"{_given(out)}")
    if Path(out).exists() and not Path(out).is_dir():
        raise ConfigError(f"out {out}: is a file; expected a folder")
    return Path(out)


def encoder_argument(encoder: Any) -> Any:
    """``encoder`` with a path object (``Path("enc.pt")``) as its string, which names a
    checkpoint as ``--encoder`` does; anything else as given."""
    return os.fsdecode(encoder) if isinstance(encoder, os.PathLike) else encoder


def results_path(path: Any) -> Path:
    """The ``path`` of :func:`mtneuro.load_results`, refused where it is no path."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"load_results: path: expected a results folder or a metrics.json "
                          f"file (str or os.PathLike), got {_given(path)}")
    return Path(path)


def mapping_argument(name: str, value: Any, example: str) -> dict[str, Any]:
    """``value`` (a mapping, or ``None``: empty) as a dict; ``name`` and ``example`` say
    what was expected."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: expected a mapping of names to values, e.g. {example}, or "
                          f"None, got {_given(value)}")
    return dict(value)
