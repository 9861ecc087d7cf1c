"""Classification scores from predicted and true class indices, shared by the tasks."""

from __future__ import annotations

from typing import Any

import numpy as np

from mtneuro.stats import class_indices, macro_f1_of_totals


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``, rows = truth, columns = prediction; labels must be
    two 1-D arrays of one length in ``0..n_classes - 1`` (:func:`~mtneuro.stats.class_indices`,
    else :class:`~mtneuro.errors.DataError`)."""
    y_true, y_pred = class_indices(y_true, y_pred, n_classes)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 4
) -> dict[str, Any]:
    """Accuracy, per-class accuracy (recall; NaN if absent) and confusion counts (rows = truth);
    labels as :func:`confusion_counts` takes them.

    >>> classification_metrics([0, 0, 1], [0, 1, 1], 2)["per_class_accuracy"]
    [0.5, 1.0]
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    confusion = confusion_counts(y_true, y_pred, n_classes)  # checks the labels
    support = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / np.maximum(support, 1), np.nan)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "per_class_accuracy": per_class.tolist(),
        "confusion": confusion.tolist(),
        "n_test": int(y_true.size),
    }


def weighted_f1(confusion: np.ndarray) -> float:
    """F1 per class weighted by its support (scikit-learn's ``average="weighted"``; a class
    never predicted nor present scores 0), from counts with rows = truth."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    support = confusion.sum(axis=1)
    denominator = support + confusion.sum(axis=0)  # 2 TP + FP + FN
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return float((f1 * support).sum() / support.sum()) if support.sum() else 0.0


def macro_f1(confusion: np.ndarray) -> float:
    """Mean F1 over the classes in the truth or the predictions (scikit-learn's
    ``average="macro"`` over those labels), from counts with rows = truth: each class counts
    alike, however rare; 0.0 for no counts.

    >>> macro_f1(np.array([[2, 0, 0], [1, 0, 0], [0, 0, 0]]))
    0.4
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    value = macro_f1_of_totals(confusion.reshape(-1), len(confusion))
    return float(value) if np.isfinite(value) else 0.0


def accuracy_and_f1(y_true: np.ndarray, y_pred: np.ndarray, *,
                    macro: bool = False) -> dict[str, float]:
    """``accuracy`` and ``f1_weighted`` (:func:`weighted_f1`) of class indices; with
    ``macro``, ``f1_macro`` (:func:`macro_f1`) too, from the same confusion counts."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    n_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    confusion = confusion_counts(y_true, y_pred, n_classes)  # checks the labels
    scores = {"accuracy": float(np.mean(y_true == y_pred)), "f1_weighted": weighted_f1(confusion)}
    if macro:
        scores["f1_macro"] = macro_f1(confusion)
    return scores
