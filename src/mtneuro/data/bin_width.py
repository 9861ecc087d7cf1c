"""The bin width a monkey-reach file states: a scalar ``bin_s`` array in the ``.npz``, else a
``-bin<seconds>-`` part of its name (as the published files' ``...-bin0.10-...``), else none
(``None``: not known). Recorded, never used in a computation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mtneuro.data.numpy_files import checked_numeric
from mtneuro.errors import DataError


def stated_bin_width(arrays: dict[str, np.ndarray], path: Path) -> float | None:
    """The bin width a reach file states: its ``bin_s`` array, else its name
    (:func:`bin_width_from_name`); ``None`` where neither says one. A name that says another
    width than the array is refused: one of them is wrong."""
    named = bin_width_from_name(path.stem)
    if "bin_s" not in arrays:
        return named
    value = checked_numeric(arrays["bin_s"], path, "bin_s")
    if value.size != 1 or not 0 < float(value.reshape(-1)[0]) < math.inf:
        raise DataError(f"{path}: bin_s must be one positive number of seconds, got "
                        f"{value.reshape(-1)[:4].tolist()}")
    width = float(value.reshape(-1)[0])
    if named is not None and not math.isclose(named, width):
        raise DataError(f"{path}: bin_s is {width} s but the file name says bin{named}: "
                        "one of them is wrong")
    return width


def bin_width_from_name(stem: str) -> float | None:
    """Bin width from a ``...-bin0.10-...`` file name part (a positive number of seconds);
    ``None`` where no part says one."""
    for part in stem.split("-"):
        if part.startswith("bin"):
            try:
                width = float(part[3:])
            except ValueError:
                continue  # "binned", not a width
            if not 0 < width < math.inf:
                raise DataError(f"{stem}: bin width {part[3:]!r} from the file name is not a "
                                f"positive number of seconds")
            return width
    return None
