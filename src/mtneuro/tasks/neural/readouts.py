"""Linear readouts of frozen representations, weight decay chosen on validation.

Reach: ridge regression of (cos theta, sin theta) of the reach angle. The MYOW
reference trains a ``Linear`` layer with AdamW (100 passes) once per weight decay
of the grid 2^-10 .. 2^9 and keeps the best validation accuracy. A linear model
with an L2 penalty and squared loss has a closed form, so here the whole grid is
solved at once from one SVD of the training features: same model family and
selection rule, exact optimum per grid point, milliseconds instead of 20 x 100
optimiser passes. Features are z-scored with training statistics first so that
one penalty grid fits every encoder's output scale; the bias is not penalised.

Sleep (and a user's classes): multinomial logistic regression with class-balanced weights
(the reference samples classes equally), penalty chosen on validation accuracy over
the same grid. :func:`fit_balanced_ridge_classifier` is its closed-form stand-in
(one-hot targets, class-balanced squared loss), fast enough to score every
training checkpoint (:mod:`mtneuro.tasks.neural.select`).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

import numpy as np

from mtneuro.tasks.neural.metrics import angle_from_cos_sin, angular_error, reach_accuracy
from mtneuro.tasks.probe import Standardizer, ridge_solutions
from mtneuro.tasks.scores import accuracy_and_f1

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

#: Penalties (per-sample loss + penalty * ||W||^2) tried on the validation split.
PENALTY_GRID = 2.0 ** np.arange(-10, 10)


#: Feature columns with a training std at most this are constant (scale 1).
MIN_SCALE = 1e-8


def ridge_grid(x: np.ndarray, y: np.ndarray, penalties: np.ndarray,
               weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge for every penalty at once, with an unpenalised bias.

    Minimises ``mean_i weight_i ||x_i W + b - y_i||^2 + penalty ||W||^2`` for each penalty
    (``weight`` defaults to 1; pass weights of mean 1 to keep the penalty's scale): the
    weighted, centred problem of :func:`~mtneuro.tasks.probe.ridge_solutions`.

    Args:
        x: (n, d) features; y: (n, o) targets; penalties: (L,); weight: optional (n,).

    Returns:
        ``(W, b)`` of shapes (L, d, o) and (L, o).
    """
    n = x.shape[0]
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    x_mean, y_mean = weight @ x / weight.sum(), weight @ y / weight.sum()
    root = np.sqrt(weight)[:, None]
    w = ridge_solutions(root * (x - x_mean), root * (y - y_mean), n * np.asarray(penalties))
    b = y_mean[None, :] - np.einsum("d,ldo->lo", x_mean, w)
    return w, b


@dataclasses.dataclass
class AngleReadout:
    """Fitted reach-angle readout: predicts angles in [0, 2 pi) from features."""

    scaler_: Standardizer
    weight_: np.ndarray  # (d, 2)
    bias_: np.ndarray  # (2,)
    penalty_: float
    val_: dict[str, float]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return angle_from_cos_sin(self.scaler_(x) @ self.weight_ + self.bias_)


def fit_angle_readout(
    x_train: np.ndarray,
    angle_train: np.ndarray,
    x_val: np.ndarray,
    angle_val: np.ndarray,
    penalties: np.ndarray = PENALTY_GRID,
) -> AngleReadout:
    """Ridge readout of (cos, sin); penalty by validation accuracy, ties by delta-accuracy,
    then by lower mean angular error."""
    scaler = Standardizer(x_train, MIN_SCALE)
    target = np.stack([np.cos(angle_train), np.sin(angle_train)], axis=1)
    w, b = ridge_grid(scaler(x_train), target, penalties)
    pred = np.einsum("nd,ldo->lno", scaler(x_val), w) + b[:, None, :]
    err = angular_error(angle_from_cos_sin(pred), angle_val[None, :])  # (L, n_val)
    acc = (err < np.pi / 8).mean(axis=1)
    delta = (err < 3 * np.pi / 16).mean(axis=1)
    best = int(np.lexsort((err.mean(axis=1), -delta, -acc))[0])
    val = reach_accuracy(angle_from_cos_sin(pred[best]), angle_val)
    return AngleReadout(scaler, w[best], b[best], float(penalties[best]), val)


@dataclasses.dataclass
class StateReadout:
    """Fitted class-balanced linear classifier of sleep states (or a user's classes)."""

    scaler_: Standardizer
    model_: LogisticRegression
    penalty_: float
    val_: dict[str, float]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict(self.scaler_(x))


def fit_state_readout(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    penalties: np.ndarray = PENALTY_GRID,
) -> StateReadout:
    """Class-balanced multinomial logistic regression; penalty by validation accuracy,
    ties by weighted F1."""
    # here, not at the top: reach readouts are closed-form numpy, and sklearn's import is
    # seconds of a reach run
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    scaler = Standardizer(x_train, MIN_SCALE)
    xt, xv = scaler(x_train), scaler(x_val)
    best: tuple[tuple[float, float], LogisticRegression, float, dict[str, float]] | None = None
    for penalty in penalties:
        # sklearn minimises C * sum(loss) + ||w||^2 / 2 == n C (mean loss + ||w||^2 / (2 n C))
        model = LogisticRegression(C=1.0 / (2 * penalty * len(xt)), class_weight="balanced", max_iter=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(xt, y_train)
        val = accuracy_and_f1(y_val, model.predict(xv))
        key = (val["accuracy"], val["f1_weighted"])
        if best is None or key > best[0]:
            best = (key, model, float(penalty), val)
    assert best is not None
    return StateReadout(scaler, best[1], best[2], best[3])


def fit_balanced_ridge_classifier(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    penalties: np.ndarray = PENALTY_GRID,
) -> dict[str, float]:
    """Validation metrics of a class-balanced ridge classifier, penalty chosen on validation.

    Regresses one-hot classes with every sample weighted ``n / (n_classes * n_class)``
    (the classes count equally, like the logistic readout's ``class_weight="balanced"``)
    and predicts the largest output; all penalties solved from one SVD.

    Returns:
        ``accuracy`` and ``f1_weighted`` on validation at the best penalty (by accuracy,
        then F1).
    """
    scaler = Standardizer(x_train, MIN_SCALE)
    classes, index = np.unique(y_train, return_inverse=True)
    weight = (len(index) / (len(classes) * np.bincount(index)))[index]
    w, b = ridge_grid(scaler(x_train), np.eye(len(classes))[index], penalties, weight)
    scores = np.einsum("nd,ldo->lno", scaler(x_val), w) + b[:, None, :]
    best: tuple[tuple[float, float], dict[str, float]] | None = None
    for pred in classes[scores.argmax(axis=2)]:
        val = accuracy_and_f1(y_val, pred)
        key = (val["accuracy"], val["f1_weighted"])
        if best is None or key > best[0]:
            best = (key, val)
    assert best is not None
    return best[1]
