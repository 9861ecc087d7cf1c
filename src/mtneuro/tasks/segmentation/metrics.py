"""Segmentation scores from one confusion matrix accumulated over a whole test set.

MTNeuro task 2 reports per-class F1 (Dice) and IoU and their averages. The
reference script pools true/false positive/negative counts over every test tile
before dividing, so scores here are computed the same way: accumulate a
``(C, C)`` confusion matrix (rows = truth, columns = prediction) over all
batches with one ``bincount`` each, then derive every score from it once.
Averaging per-batch scores instead would weight small or empty tiles wrongly.

Absent classes: a class with no pixels in the truth *and* none in the
prediction has ``TP + FP + FN = 0``, so its F1 and IoU are 0 / 0. They are
reported as NaN (``null`` in JSON) and left out of the averages, rather than
counted as a perfect 1 or a failing 0. Likewise its recall is NaN and is left
out of the balanced accuracy. A class that is present in only one of truth and
prediction scores 0, as it should.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def confusion_matrix(
    prediction: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, n_classes: int
) -> np.ndarray:
    """Pixel confusion matrix of integer label maps of any (equal) shape.

    Args:
        prediction: predicted class per pixel, ints in ``[0, n_classes)``.
        target: true class per pixel, same shape.
        n_classes: C.

    Returns:
        int64 ``(C, C)``; entry ``[t, p]`` counts pixels of true class t predicted as p.
    """
    pred = torch.as_tensor(prediction).reshape(-1).to(torch.int64)
    true = torch.as_tensor(target).reshape(-1).to(torch.int64)
    if pred.shape != true.shape:
        raise ValueError(f"prediction has {pred.numel()} pixels, target {true.numel()}")
    for name, values in (("prediction", pred), ("target", true)):
        if values.numel() and (int(values.min()) < 0 or int(values.max()) >= n_classes):
            raise ValueError(
                f"{name} labels must lie in 0..{n_classes - 1}, got "
                f"{int(values.min())}..{int(values.max())}"
            )
    counts = torch.bincount(true.cpu() * n_classes + pred.cpu(), minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).numpy().astype(np.int64)


class ConfusionAccumulator:
    """Sums confusion matrices batch by batch; :meth:`scores` reads the totals.

    >>> acc = ConfusionAccumulator(2)
    >>> acc.update(np.array([0, 1]), np.array([0, 0]))
    >>> acc.matrix.tolist()
    [[1, 1], [0, 0]]
    """

    def __init__(self, n_classes: int) -> None:
        if n_classes < 2:
            raise ValueError(f"n_classes: expected int >= 2, got {n_classes!r}")
        self.n_classes = n_classes
        self.matrix = np.zeros((n_classes, n_classes), dtype=np.int64)

    def update(
        self, prediction: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray
    ) -> None:
        """Add one batch of label maps (any equal shapes)."""
        self.matrix += confusion_matrix(prediction, target, self.n_classes)

    def scores(self, class_names: Sequence[str] | None = None) -> dict:
        return segmentation_scores(self.matrix, class_names)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ``numerator / denominator`` with NaN where the denominator is 0."""
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def segmentation_scores(matrix: np.ndarray, class_names: Sequence[str] | None = None) -> dict:
    """Per-class and average scores from a ``(C, C)`` confusion matrix.

    Args:
        matrix: counts, rows = truth, columns = prediction.
        class_names: C names for the per-class entries (default ``"0"``, ``"1"``, ...).

    Returns:
        ``{"f1": {name: value}, "iou": {...}, "precision": {...}, "recall": {...},
        "avg_f1", "avg_iou", "balanced_accuracy", "pixel_accuracy", "support": {name: pixels},
        "confusion_matrix": list of lists}``. Undefined per-class values are NaN and are
        excluded from the averages (see the module docstring). ``avg_*`` and
        ``balanced_accuracy`` are NaN only if every class is undefined.
    """
    cm = np.asarray(matrix, dtype=np.float64)
    n = cm.shape[0]
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}-class confusion matrix")
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    iou = _ratio(tp, tp + fp + fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)

    def mean(values: np.ndarray) -> float:
        defined = values[~np.isnan(values)]
        return float(defined.mean()) if defined.size else float("nan")

    total = cm.sum()
    return {
        "f1": dict(zip(names, f1.tolist())),
        "iou": dict(zip(names, iou.tolist())),
        "precision": dict(zip(names, precision.tolist())),
        "recall": dict(zip(names, recall.tolist())),
        "avg_f1": mean(f1),
        "avg_iou": mean(iou),
        "balanced_accuracy": mean(recall),
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "support": dict(zip(names, (tp + fn).astype(np.int64).tolist())),
        "confusion_matrix": np.asarray(matrix, dtype=np.int64).tolist(),
    }
