"""Early stopping by validation: each run picks its own training length.

The readout already picks its penalty on the validation bins; the encoder's
training length is picked the same way. Every ``select_every`` optimiser steps the
training loop hands the online encoder to a :class:`ValidationMonitor`, which
encodes the training and validation bins, fits a linear readout on the training
bins and scores it on the validation bins; the checkpoint with the best score is
kept and restored at the end. Ties keep the earlier (shorter) checkpoint. MYOW's
checkpoints count only once the ramp of its mined loss has run (its first 30% of steps
train it as BYOL, then the weight ramps up; the first eligible checkpoint is the step at
which it reaches full weight): a MYOW run always returns an encoder trained with mining.

The monitor is built from the z-scored rates and labels of the training and
validation bins only: test bins are never passed to it, so nothing it chooses can
depend on them (``tests/neural/test_selection.py`` poisons the test split to check).

Scores: reach, the run's own angle readout (:func:`~mtneuro.tasks.neural.readouts.fit_angle_readout`,
closed form), ranked by validation accuracy, then delta-accuracy, then lower mean
angular error. Sleep, a class-balanced ridge classifier
(:func:`~mtneuro.tasks.neural.readouts.fit_balanced_ridge_classifier`, closed form,
milliseconds) stands in for the final logistic regression (about 2 s a fit on
mouse CA1), ranked by validation accuracy, then weighted F1.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from mtneuro.tasks.neural.readouts import fit_angle_readout, fit_balanced_ridge_classifier

#: (features of the training bins, features of the validation bins) -> (rank key, metrics)
Scorer = Callable[[np.ndarray, np.ndarray], tuple[tuple[float, ...], dict[str, float]]]


def reach_scorer(angle_train: np.ndarray, angle_val: np.ndarray) -> Scorer:
    """Validation score of the angle readout: (accuracy, delta-accuracy, -mean angular error)."""

    def score(f_train: np.ndarray, f_val: np.ndarray) -> tuple[tuple[float, ...], dict[str, float]]:
        val = fit_angle_readout(f_train, angle_train, f_val, angle_val).val_
        return (val["accuracy"], val["delta_accuracy"], -val["mean_angular_error"]), val

    return score


def sleep_scorer(label_train: np.ndarray, label_val: np.ndarray) -> Scorer:
    """Validation score of a class-balanced ridge classifier: (accuracy, weighted F1)."""

    def score(f_train: np.ndarray, f_val: np.ndarray) -> tuple[tuple[float, ...], dict[str, float]]:
        val = fit_balanced_ridge_classifier(f_train, label_train, f_val, label_val)
        return (val["accuracy"], val["f1_weighted"]), val

    return score


class ValidationMonitor:
    """Scores encoder checkpoints on validation and keeps the best one.

    Args:
        x_train: (n_train, neurons) z-scored rates of the training bins.
        x_val: (n_val, neurons) z-scored rates of the validation bins.
        scorer: :func:`reach_scorer` or :func:`sleep_scorer` of the same bins' labels.
        first_step: checkpoints before this step are scored (``history``) but never kept.

    Attributes:
        history: one dict per checkpoint: ``step`` and the validation metrics.
        best_step: step of the kept checkpoint (0 before the first eligible call).
    """

    def __init__(self, x_train: torch.Tensor, x_val: torch.Tensor, scorer: Scorer,
                 first_step: int = 0) -> None:
        self.x_train, self.x_val, self.scorer = x_train, x_val, scorer
        self.first_step = first_step
        self.history: list[dict[str, float]] = []
        self.best_step = 0
        self._best_key: tuple[float, ...] | None = None
        self._best_state: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def __call__(self, step: int, encoder: nn.Module) -> None:
        """Score ``encoder`` (in eval mode) at ``step``; keep a copy if it is the best so far."""
        key, metrics = self.scorer(encoder(self.x_train).numpy(), encoder(self.x_val).numpy())
        self.history.append({"step": float(step), **metrics})
        if step >= self.first_step and (self._best_key is None or key > self._best_key):
            self._best_key, self.best_step = key, step
            self._best_state = copy.deepcopy(encoder.state_dict())

    def restore(self, encoder: nn.Module) -> nn.Module:
        """Load the best checkpoint's weights into ``encoder`` (unchanged if none was scored)."""
        if self._best_state is not None:
            encoder.load_state_dict(self._best_state)
        return encoder

    @property
    def best(self) -> dict[str, float]:
        """Validation metrics of the kept checkpoint."""
        return next(h for h in self.history if h["step"] == self.best_step)
