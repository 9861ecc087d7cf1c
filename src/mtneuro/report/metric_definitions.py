"""One sentence under each leaderboard table saying how its metrics are computed, so that a
reader does not take two differently averaged numbers for comparable ones (task 2's F1 is
pooled over pixels, its IoU averaged over images, as MTNeuro publishes them) or guess a
definition (neural decoding's δ-accuracy, the unit of an angular error)."""

from __future__ import annotations

from collections.abc import Sequence

#: task -> (metric key prefix, its definition); a definition is given once a table shows a
#: metric its prefix starts
_DEFINITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "task1": (
        ("accuracy", "Accuracy: the share of test inputs (tiles, or their quadrant crops where "
                     "the protocol cuts them) given their region"),
        ("f1_weighted", "Weighted F1: each region's F1 weighted by its test count"),
    ),
    "task2": (
        ("f1_", "F1: pooled over every scored test pixel of a class (F1 avg: the mean over "
                "classes)"),
        ("iou_", "IoU: per test image (1.0 for a class in neither its truth nor its "
                 "prediction), then averaged over images, as MTNeuro publishes it (IoU avg: "
                 "the mean over classes); averaged differently, F1 and IoU are not related by "
                 "F1 = 2 IoU / (1 + IoU), and an image that wrongly predicts a few pixels of a "
                 "class it lacks scores 0 for it; each cell's metrics.json also holds the "
                 "pooled IoU (iou_pooled)"),
    ),
    "task3": (
        ("r2_test_", "R² (held-out): a linear readout fitted on the training crops, scored on "
                     "the test crops"),
        ("r2_", "R² (in-sample): fitted and scored on the same crops (the published "
                "definition)"),
    ),
    "neural": (
        ("accuracy", ""),  # by the recording kinds of the table: _neural_accuracy
        ("delta_accuracy", "δ-Accuracy: within 3π/16 (33.75°)"),
        ("mean_angular_error", "mean angular error in radians"),
        ("f1_weighted", "Weighted F1: each class's F1 weighted by its test count"),
        ("f1_macro", "Macro F1: the mean of each class's F1, every class counting alike "
                     "(a class in neither the truth nor the predictions is left out, as "
                     "scikit-learn does)"),
    ),
}
#: recording kind -> (its name where several share a table, its neural accuracy)
_NEURAL_ACCURACY = {
    "reach": ("reach", ("the share of test bins whose decoded angle lies within π/8 (22.5°) "
                        "of the target's")),
    "sleep": ("sleep", "the share of test bins given their state"),
    "classes": ("a user's classes", "the share of test bins given their class"),
}


def metric_definitions(task: str, metrics: Sequence[str], kinds: Sequence[str] = ()) -> str:
    """``"Accuracy: ...; δ-Accuracy: ..."`` for the ``metrics`` a ``task``'s table shows
    (empty where none is defined here); each definition once, in the table's order.

    Args:
        kinds: the recording kinds of a neural table's records (``reach``, ``sleep``,
            ``classes``): accuracy is defined for those alone; none known (records
            written before they said), for every kind.

    >>> metric_definitions("neural", ["delta_accuracy"])
    'δ-Accuracy: within 3π/16 (33.75°).'
    >>> metric_definitions("neural", ["accuracy"], ["classes"])
    'Accuracy: the share of test bins given their class.'
    """
    shown: list[str] = []
    for key in metrics:
        # the first matching prefix: r2_test_ before r2_ (in the table above)
        text = next((t or _neural_accuracy(kinds) for prefix, t in _DEFINITIONS.get(task, ())
                     if key.startswith(prefix)), None)
        if text is not None and text not in shown:
            shown.append(text)
    return "; ".join(shown) + ("." if shown else "")


def _neural_accuracy(kinds: Sequence[str]) -> str:
    """Accuracy as the ``kinds`` of a neural table score it: one kind's alone, unnamed."""
    known = [k for k in _NEURAL_ACCURACY if k in kinds] or list(_NEURAL_ACCURACY)
    if len(known) == 1:
        return f"Accuracy: {_NEURAL_ACCURACY[known[0]][1]}"
    return "Accuracy: " + "; ".join(f"{name}, {text}" for name, text in
                                    (_NEURAL_ACCURACY[k] for k in known))
