"""Segmentation scores of task 2: the published definitions, and pooled ones under their own names.

MTNeuro's ``scripts/task2_main.py`` scores each test image (a 2D tile or a 3D
block) with ``smp.metrics.get_stats`` (true/false positives and negatives per
class) and then reports

* **F1** from the counts summed over the test set (its "new F1-score": pooled
  precision and recall), i.e. ``2 TP / (2 TP + FP + FN)`` of one confusion matrix
  accumulated over all images; and
* **IoU** per image, ``TP / (TP + FP + FN)`` with smp's ``zero_division=1.0`` (a
  class absent from both the truth and the prediction of an image scores 1.0 on
  that image), averaged over the images and then over the classes
  (``iou_score(..., reduction=None)``, ``iou_score.sum(0) / len(iou_score)``).

Both are reproduced here under the published names ``f1`` / ``avg_f1`` and ``iou``
/ ``avg_iou``. The IoU of the pooled confusion matrix, which weights pixels rather
than images and leaves absent classes out, is kept as ``iou_pooled`` /
``avg_iou_pooled``; it is never reported as ``iou``.

Pooled scores of a class with no pixels in the truth *and* none in the prediction
of the whole set (``TP + FP + FN = 0``) are 0 / 0: reported as NaN (``null`` in
JSON) and left out of the averages. The reference's pooled F1 of such a class is
NaN too (and so is its average); a class with TP = 0 but FP or FN > 0 scores 0
here, where the reference's precision/recall formula gives 0 / 0 = NaN.

**Balanced accuracy** is the reference's (``task2_main.py:267-269``): the mean of the
sensitivity ``sum TP / sum (TP + FN)`` and the specificity ``sum TN / sum (TN + FP)``, the
sums over the classes but the background (class 0) and over the test set (the script
averages the counts over images: the ratios are the same). Counts are pooled over those
classes before the ratios, so a large class weighs more than a small one; the mean over
classes of each class's own (sensitivity + specificity) / 2 is another quantity. The mean
recall over all classes, background included, is not reported either: it was never the
published one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: Score of a class absent from both truth and prediction of one image (smp's default).
IOU_ZERO_DIVISION = 1.0


def _labels(values: torch.Tensor | np.ndarray, name: str, n_classes: int) -> np.ndarray:
    """``values`` as a NumPy array of integer labels, checked to lie in ``0..n_classes - 1``
    (a label out of range would land in another image's or class's cell of the flat count)."""
    array = (values.detach().cpu().numpy() if isinstance(values, torch.Tensor)
             else np.asarray(values))
    if not np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.int64)  # as before: floats and bools truncated to classes
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= n_classes:
            raise ValueError(f"{name} labels must lie in 0..{n_classes - 1}, got {low}..{high}")
    return array


def per_image_confusion(
    prediction: torch.Tensor | np.ndarray,
    target: torch.Tensor | np.ndarray,
    n_classes: int,
    scored: np.ndarray | None = None,
) -> np.ndarray:
    """One pixel confusion matrix per image.

    Args:
        prediction: predicted classes, ints in ``[0, n_classes)``, shape ``(N, ...)``:
            N images of any (equal) spatial shape, e.g. ``(N, H, W)`` or ``(N, D, H, W)``.
        target: true classes, same shape.
        n_classes: C.
        scored: boolean, same shape: only these pixels count (``None``: all). A 3D block
            that ends a z range overlaps the block before it, whose slices it must not
            count twice (:func:`~mtneuro.data.tiles.covering_starts`).

    Returns:
        int64 ``(N, C, C)``; entry ``[i, t, p]`` counts pixels of image i of true class t
        predicted as p.
    """
    pred = _labels(prediction, "prediction", n_classes)
    true = _labels(target, "target", n_classes)
    if pred.shape != true.shape:
        raise ValueError(f"prediction has shape {tuple(pred.shape)}, target {tuple(true.shape)}")
    n = pred.shape[0] if pred.ndim else 1
    cells = n_classes * n_classes
    # int32 keys where they fit: half the memory traffic of int64 for the same counts
    dtype = np.int32 if n * cells < 2**31 else np.int64
    key = true.reshape(n, -1).astype(dtype) * n_classes
    key += pred.reshape(n, -1)
    key += (np.arange(n, dtype=dtype) * cells)[:, None]  # each image its own C x C block
    if scored is not None:
        if tuple(np.shape(scored)) != tuple(pred.shape):
            raise ValueError(f"scored has shape {tuple(np.shape(scored))}, "
                             f"target {tuple(true.shape)}")
        key = key[np.asarray(scored, dtype=bool).reshape(n, -1)]
    counts = np.bincount(key.reshape(-1), minlength=n * cells)
    return counts.reshape(n, n_classes, n_classes).astype(np.int64)


def confusion_matrix(
    prediction: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, n_classes: int
) -> np.ndarray:
    """Pixel confusion matrix of integer label maps of any (equal) shape.

    Returns:
        int64 ``(C, C)``; entry ``[t, p]`` counts pixels of true class t predicted as p.
    """
    pred = torch.as_tensor(prediction).reshape(1, -1)
    true = torch.as_tensor(target).reshape(1, -1)
    return per_image_confusion(pred, true, n_classes)[0]


def _counts(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN per class of ``(..., C, C)`` confusion matrices (rows = truth)."""
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    return tp, cm.sum(axis=-2) - tp, cm.sum(axis=-1) - tp


def per_image_iou_scores(confusions: np.ndarray) -> np.ndarray:
    """smp's per-image IoU, ``(N, C)``, from per-image confusion matrices ``(N, C, C)``:
    ``TP / (TP + FP + FN)``, :data:`IOU_ZERO_DIVISION` where the denominator is 0."""
    tp, fp, fn = _counts(confusions)
    union = tp + fp + fn
    out = np.full(tp.shape, IOU_ZERO_DIVISION)
    np.divide(tp, union, out=out, where=union > 0)
    return out


def per_image_iou(
    prediction: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, n_classes: int
) -> np.ndarray:
    """Per-class IoU as MTNeuro publishes it: per image (1.0 for a class absent from both
    its truth and its prediction), averaged over the N images.

    Args:
        prediction, target: int label maps ``(N, H, W)`` or ``(N, D, H, W)``.
        n_classes: C.

    Returns:
        float64 ``(C,)``; its mean is the published average IoU.

    >>> truth = np.zeros((2, 2, 2), dtype=int)           # no class-1 pixels anywhere
    >>> pred = truth.copy(); pred[1, 0, 0] = 1            # image 2 predicts one
    >>> per_image_iou(pred, truth, 2).tolist()            # class 1: (1.0 + 0.0) / 2
    [0.875, 0.5]
    """
    return per_image_iou_scores(per_image_confusion(prediction, target, n_classes)).mean(axis=0)


class ConfusionAccumulator:
    """Sums confusion matrices and per-image IoUs batch by batch; :meth:`scores` reads them.

    >>> acc = ConfusionAccumulator(2)
    >>> acc.update(np.array([[0, 1]]), np.array([[0, 0]]))  # one image of two pixels
    >>> acc.matrix.tolist(), acc.n_images
    ([[1, 1], [0, 0]], 1)
    """

    def __init__(self, n_classes: int) -> None:
        if n_classes < 2:
            raise ValueError(f"n_classes: expected int >= 2, got {n_classes!r}")
        self.n_classes = n_classes
        self.matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
        self.iou_sum = np.zeros(n_classes)
        self.n_images = 0

    def update(
        self,
        prediction: torch.Tensor | np.ndarray,
        target: torch.Tensor | np.ndarray,
        scored: np.ndarray | None = None,
    ) -> None:
        """Add a batch of N images, label maps ``(N, ...)`` (the first axis indexes images);
        ``scored``: the pixels that count (:func:`per_image_confusion`)."""
        confusions = per_image_confusion(prediction, target, self.n_classes, scored)
        self.matrix += confusions.sum(axis=0)
        self.iou_sum += per_image_iou_scores(confusions).sum(axis=0)
        self.n_images += confusions.shape[0]

    def scores(self, class_names: Sequence[str] | None = None) -> dict:
        """:func:`segmentation_scores` of the pixels accumulated so far, with the mean
        per-image IoU (``None`` before any image)."""
        iou = self.iou_sum / self.n_images if self.n_images else None
        return segmentation_scores(self.matrix, class_names, per_image_iou=iou)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ``numerator / denominator`` with NaN where the denominator is 0."""
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _nan_mean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _pooled_balanced_accuracy(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray,
                              tn: np.ndarray) -> float:
    """(sensitivity + specificity) / 2 of counts summed over the given classes."""
    sensitivity = _ratio(tp.sum(keepdims=True), (tp + fn).sum(keepdims=True))[0]
    specificity = _ratio(tn.sum(keepdims=True), (tn + fp).sum(keepdims=True))[0]
    return float((sensitivity + specificity) / 2)


def segmentation_scores(
    matrix: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    per_image_iou: np.ndarray | None = None,
) -> dict:
    """Per-class and average scores (see the module docstring for the definitions).

    Args:
        matrix: pooled counts ``(C, C)``, rows = truth, columns = prediction.
        class_names: C names for the per-class entries (default ``"0"``, ``"1"``, ...).
        per_image_iou: ``(C,)`` per-image IoU averaged over images
            (:func:`per_image_iou`); without it ``iou`` / ``avg_iou`` are left out,
            since the pooled IoU must not pass for the published one.

    Returns:
        ``{"f1": {name: value}, "iou": {...}, "iou_pooled": {...}, "precision": {...},
        "recall": {...}, "specificity": {...}, "avg_f1", "avg_iou", "avg_iou_pooled",
        "balanced_accuracy", "pixel_accuracy", "support": {name: pixels},
        "confusion_matrix": list of lists}``. Undefined pooled values are NaN and excluded
        from the averages; ``avg_*`` are NaN only if every class is undefined,
        ``balanced_accuracy`` if the non-background classes have no true pixels or no
        negative ones.
    """
    cm = np.asarray(matrix, dtype=np.float64)
    n = cm.shape[0]
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}-class confusion matrix")
    tp, fp, fn = _counts(cm)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    iou_pooled = _ratio(tp, tp + fp + fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    total = cm.sum()
    tn = total - tp - fp - fn
    specificity = _ratio(tn, tn + fp)
    out = {
        "f1": dict(zip(names, f1.tolist())),
        "iou_pooled": dict(zip(names, iou_pooled.tolist())),
        "precision": dict(zip(names, precision.tolist())),
        "recall": dict(zip(names, recall.tolist())),
        "specificity": dict(zip(names, specificity.tolist())),
        "avg_f1": _nan_mean(f1),
        "avg_iou_pooled": _nan_mean(iou_pooled),
        # the reference's: counts pooled over the non-background classes (module docstring)
        "balanced_accuracy": _pooled_balanced_accuracy(tp[1:], fp[1:], fn[1:], tn[1:]),
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "support": dict(zip(names, (tp + fn).astype(np.int64).tolist())),
        "confusion_matrix": np.asarray(matrix, dtype=np.int64).tolist(),
    }
    if per_image_iou is not None:
        iou = np.asarray(per_image_iou, dtype=np.float64)
        if iou.shape != (n,):
            raise ValueError(f"per_image_iou: expected shape ({n},), got {iou.shape}")
        out["iou"] = dict(zip(names, iou.tolist()))
        out["avg_iou"] = float(iou.mean())
    return out
