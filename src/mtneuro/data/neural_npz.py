"""A recording ``.npz``: the monkey-reach layout, or the classes layout of a user's own classes
(:mod:`mtneuro.data.neural_classes`); both hold the same arrays.

- ``firing_rates`` (bins, neurons) in Hz, ``trial`` (bins,) trial index (a trial's bins
  together), ``timestep`` (bins,) bin index within its trial (optional: counted from 0),
  ``label`` (bins,), optionally ``bin_s`` (a scalar: the bin width in seconds; else a
  ``-binW-`` part of the file name says it, as in the published files' ``...-bin0.10-...``,
  else it is not known).
- reach: ``label`` is the reach target 0..7 (45 degrees apart); ``pos``/``vel``/``acc``/
  ``force`` (bins, 2) are kept as behaviour.
- classes (``kind`` ``"classes"``): ``label`` indexes ``class_names`` (optional).

A user's reach file that does not say ``kind`` warns once that its labels are read as
directions, and how to say they are classes: the readouts differ, and nothing in a file of
labels 0..7 tells the two apart.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mtneuro.data.bin_width import stated_bin_width
from mtneuro.data.neural_catalogue import catalogued_place, checked_sha256
from mtneuro.data.neural_classes import CLASSES, DOCS, names_of, npz_layout
from mtneuro.data.neural_recording import REACH_CLASSES, NeuralRecording, position_in_trial
from mtneuro.data.numpy_files import as_float32, checked_numeric, checked_real, read_arrays
from mtneuro.errors import DataError

_BEHAVIOUR = ("pos", "vel", "acc", "force")
#: how a reach file's labels are read, and how to say they are classes instead
_AS_CLASSES = f"if they are classes, not directions, save kind='classes' in the file ({DOCS})"


def reach_note(path: Path) -> str:
    """The one line a user's reach file without ``kind`` is read with."""
    return (f"{path}: labels read as reach directions (label x 45 degrees, decoded as an "
            f"angle); {_AS_CLASSES}")


def load_npz(path: str | Path, *, name: str | None = None) -> NeuralRecording:
    """Load a reach or classes ``.npz`` (the layouts in the module docstring), kind from its
    ``kind`` array (:func:`~mtneuro.data.neural_classes.npz_layout`).

    Warns:
        UserWarning: a reach file of the user's (not catalogued) without ``kind``
            (:func:`reach_note`).

    Raises:
        ChecksumError: a catalogued file (by its path) without its recorded SHA-256.
        DataError: arrays are missing, of the wrong type, or their shapes disagree.
    """
    path = Path(path)
    sha = checked_sha256(path)
    arrays = read_arrays(path)
    layout, stated = npz_layout(arrays, path)
    _require(arrays, path, layout)
    for key in ("firing_rates", "trial", "label", "timestep"):
        if key in arrays:
            checked_numeric(arrays[key], path, key, integer=key != "firing_rates")
    rates = as_float32(arrays["firing_rates"], path, "firing_rates")
    if rates.ndim != 2:
        raise DataError(f"{path}: firing_rates must be (bins, neurons), got shape {rates.shape}")
    n = rates.shape[0]
    trial = np.asarray(arrays["trial"], dtype=np.int64)
    label = np.asarray(arrays["label"], dtype=np.int64)
    for key, arr in (("trial", trial), ("label", label)):
        if arr.shape != (n,):
            flipped = arr.shape == (rates.shape[1],)
            hint = "; firing_rates looks transposed: expected (bins, neurons)" if flipped else ""
            raise DataError(f"{path}: {key} must have shape ({n},), got {arr.shape}{hint}")
    timestep = (np.asarray(arrays["timestep"], dtype=np.int64) if "timestep" in arrays
                else position_in_trial(trial))
    if timestep.shape != (n,):
        raise DataError(f"{path}: timestep must have shape ({n},), got {timestep.shape}")
    if layout == CLASSES:
        class_names = names_of(arrays, label, path)
    elif label.min() < 0 or label.max() > 7:
        raise DataError(f"{path}: label must be reach targets 0..7, got range "
                        f"{label.min()}..{label.max()}; {_AS_CLASSES}")
    else:
        class_names = REACH_CLASSES
    starts = np.flatnonzero(np.r_[True, trial[1:] != trial[:-1]])
    if np.unique(trial[starts]).size != starts.size:
        raise DataError(f"{path}: the bins of each trial must be contiguous")
    catalogued = catalogued_place(path) is not None
    if layout == "reach" and not stated and not catalogued:
        warnings.warn(reach_note(path), UserWarning, stacklevel=2)
    kept = [k for k in _BEHAVIOUR if k in arrays]
    for key in kept:
        checked_real(arrays[key], path, key)
    behaviour = {k: np.asarray(arrays[k], dtype=np.float32) for k in kept}
    return NeuralRecording(name=name or path.stem, kind=layout, rates=rates, trial=trial,
                           timestep=timestep, label=label, bin_s=stated_bin_width(arrays, path),
                           class_names=class_names, behaviour=behaviour,
                           files={str(path): sha}, catalogued=catalogued)


def load_reach_npz(path: str | Path, *, name: str | None = None) -> NeuralRecording:
    """Load a monkey-reach ``.npz`` (:func:`load_npz`, refusing a classes file).

    Raises:
        DataError: as :func:`load_npz`, or the file's ``kind`` is ``"classes"``.
    """
    recording = load_npz(path, name=name)
    if recording.kind != "reach":
        raise DataError(f"{path}: kind: expected a reach file, got {recording.kind!r}; "
                        "load it with mtneuro.data.neural.load_file")
    return recording


def _require(arrays: dict[str, np.ndarray], path: Path, layout: str) -> None:
    missing = [k for k in ("firing_rates", "trial", "label") if k not in arrays]
    if not missing:
        return
    what = "a monkey-reach .npz" if layout == "reach" else "a classes .npz"
    hint = ("; found 'rates': name it firing_rates"
            if "firing_rates" in missing and "rates" in arrays else "")
    raise DataError(f"{path}: missing arrays {', '.join(missing)} (expected {what}){hint}")
