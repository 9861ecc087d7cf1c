"""Decoding metrics of reach angles: angular error, accuracy and delta-accuracy (classes:
:func:`class_scores`), and their bootstrap intervals (:func:`metric_intervals`).

MYOW protocol: a reach prediction is correct when its angle is within pi/8 of the
target (i.e. the nearest of 8 directions is right): **accuracy**; within 3 pi/16
(neighbouring-direction slack): **delta-accuracy**.

>>> angular_error(np.array([0.1]), np.array([2 * np.pi - 0.1]))
array([0.2])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mtneuro.stats import classification_intervals, mean_interval
from mtneuro.tasks.scores import accuracy_and_f1

if TYPE_CHECKING:
    from mtneuro.data.neural import NeuralRecording

ACC_TOL = np.pi / 8
DELTA_ACC_TOL = 3 * np.pi / 16


def angular_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute angular difference in radians, wrapped to [0, pi]. Shapes broadcast."""
    diff = np.mod(np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64), 2 * np.pi)
    return np.minimum(diff, 2 * np.pi - diff)


def angle_from_cos_sin(cos_sin: np.ndarray) -> np.ndarray:
    """(..., 2) (cos, sin) -> angle in [0, 2 pi)."""
    cos_sin = np.asarray(cos_sin)
    return np.mod(np.arctan2(cos_sin[..., 1], cos_sin[..., 0]), 2 * np.pi)


def reach_accuracy(pred_angle: np.ndarray, target_angle: np.ndarray) -> dict[str, float]:
    """``accuracy`` (error < pi/8) and ``delta_accuracy`` (error < 3 pi/16) over bins."""
    err = angular_error(pred_angle, target_angle)
    return {
        "accuracy": float(np.mean(err < ACC_TOL)),
        "delta_accuracy": float(np.mean(err < DELTA_ACC_TOL)),
        "mean_angular_error": float(np.mean(err)),
    }


def nearest_direction(angle: np.ndarray, n_directions: int = 8) -> np.ndarray:
    """Index of the nearest of ``n_directions`` equally spaced targets (for confusion matrices)."""
    step = 2 * np.pi / n_directions
    return np.mod(np.round(np.asarray(angle) / step).astype(np.int64), n_directions)


#: Sleep test bins are resampled in blocks of this many recorded bins (10 minutes of 4 s bins): the
#: reference's distance beyond which bins count as unrelated (neg_k, train_mouse.py).
SLEEP_BLOCK_BINS = 150


def class_scores(kind: str, label: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Scores of predicted classes: ``accuracy`` and ``f1_weighted`` (sleep, as published),
    with ``f1_macro`` for a user's classes, which may be few and rare (each counts alike)."""
    return accuracy_and_f1(label, pred, macro=kind == "classes")


def metric_intervals(rec: NeuralRecording, label: np.ndarray, pred: np.ndarray,
                     per_bin: dict[str, np.ndarray], trial: np.ndarray, bins: np.ndarray) -> dict:
    """Bootstrap 95% intervals of the test metrics (:mod:`mtneuro.stats`): reach and classes
    over test trials (a trial's bins resampled together); sleep (one long trial) over blocks
    of :data:`SLEEP_BLOCK_BINS` recorded bins, since neighbouring bins are not independent
    samples (resampling single bins would give intervals that are too narrow)."""
    if rec.kind == "reach":
        return {key: mean_interval(values, unit="test trials", groups=trial)
                for key, values in per_bin.items()}
    if rec.kind == "classes":
        unit, groups = "test trials", trial
    else:
        unit, groups = f"test blocks of {SLEEP_BLOCK_BINS} bins", bins // SLEEP_BLOCK_BINS
    intervals = classification_intervals(label, pred, len(rec.class_names), unit=unit,
                                         groups=groups)
    intervals["f1_macro"] = intervals.pop("avg_f1")
    keys = ("accuracy", "f1_weighted", "f1_macro") if rec.kind == "classes" else (
        "accuracy", "f1_weighted")  # the keys of class_scores
    return {key: intervals[key] for key in keys}
