"""A neural recording in memory (:class:`NeuralRecording`), whatever file it was read from.

The whole recording as arrays, one row per time bin, so training code can keep it as a
single tensor. The loaders that build it live in :mod:`mtneuro.data.neural` (rodent pairs,
the catalogue) and :mod:`mtneuro.data.neural_npz` (a reach or classes ``.npz``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from mtneuro.errors import DataError

#: ``reach``: 8 reach directions, read as angles; ``sleep``: 3 arousal states of a rodent
#: pair; ``classes``: a user's own classes, neither angles nor states (:mod:`neural_classes`).
Kind = Literal["reach", "sleep", "classes"]

REACH_CLASSES = tuple(f"{deg}°" for deg in range(0, 360, 45))


@dataclasses.dataclass(frozen=True)
class NeuralRecording:
    """One recording as whole arrays, one row per time bin in recorded order.

    Attributes:
        name: registry name or file stem.
        kind: ``"reach"`` (8 reach directions), ``"sleep"`` (3 arousal states) or
            ``"classes"`` (a user's classes, :mod:`mtneuro.data.neural_classes`).
        rates: (bins, neurons) float32 firing rates in Hz.
        trial: (bins,) int64 trial index; bins of a trial are contiguous and in
            time order. A sleep recording is one long trial (all zeros).
        timestep: (bins,) int64 bin index within its trial (time order).
        label: (bins,) int64 class: reach target 0..7, sleep state 0..2, or an index of
            ``class_names``.
        bin_s: bin width in seconds; ``None`` where a user's file does not say it (it is
            recorded, not used: nothing is computed from it).
        class_names: name of each label value.
        behaviour: extra per-bin arrays (e.g. ``vel`` (bins, 2) for reach).
        files: the files read and their SHA-256 (provenance for ``metrics.json``).
        catalogued: every file sits at its catalogued place and passed its catalogued
            SHA-256 (a recording of the catalogue, however it was named or reached).
    """

    name: str
    kind: Kind
    rates: np.ndarray
    trial: np.ndarray
    timestep: np.ndarray
    label: np.ndarray
    bin_s: float | None
    class_names: tuple[str, ...]
    behaviour: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    catalogued: bool = False

    @property
    def n_bins(self) -> int:
        return int(self.rates.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.rates.shape[1])

    @property
    def n_trials(self) -> int:
        return int(np.unique(self.trial).size)

    @property
    def angle(self) -> np.ndarray:
        """(bins,) reach angle in radians, ``2 pi label / 8`` (reach recordings only)."""
        if self.kind != "reach":
            raise DataError(f"{self.name}: a {self.kind} recording has no reach angle")
        return (2 * np.pi / 8) * self.label.astype(np.float64)

    def describe(self) -> dict[str, object]:
        """Provenance for ``metrics.json``: name, kind, sizes and file hashes; for the
        classes kind its class names too (reach and sleep names follow from the kind)."""
        out: dict[str, object] = {
            "name": self.name, "kind": self.kind, "bins": self.n_bins,
            "neurons": self.n_neurons, "trials": self.n_trials, "bin_s": self.bin_s,
            "files": dict(self.files), "catalogued": self.catalogued}
        if self.kind == "classes":
            out["class_names"] = list(self.class_names)
        return out


def position_in_trial(trial: np.ndarray) -> np.ndarray:
    """(bins,) index of each bin within its trial, counting from 0 where a trial starts."""
    starts = np.r_[True, trial[1:] != trial[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(trial.size), 0))
    return np.arange(trial.size) - first
