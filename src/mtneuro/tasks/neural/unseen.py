"""Test classes a run's readout cannot predict: absent from the bins it is fitted on.

Such a class costs every method the same test bins, so a score that looks low (or a
method that looks no better than another) may be the split's doing; the run says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mtneuro.tasks.neural.splits import learning_bins

if TYPE_CHECKING:
    from mtneuro.data.neural import NeuralRecording
    from mtneuro.tasks.neural.splits import Split


def unseen_class_warning(rec: NeuralRecording, split: Split, *, refit: bool,
                         fold: tuple[int, int] | None = None) -> str | None:
    """One line naming each test class the readout never sees fitted, and its test bins
    (``REM: 120 test bins, none in the training bins: no method can predict it``), else
    ``None``.

    Only a sleep or classes readout is a classifier (it predicts only the classes it was
    fitted on); a reach readout regresses the angle's cosine and sine, so it can still point
    at a direction absent from its bins, and nothing is said.

    Args:
        refit: the final readout is fitted on training + validation bins (``refit``), so
            a class met only in validation can still be predicted.
        fold: ``(index, folds)`` of a k-fold run's ``split``, named in the line (``x, fold
            2 of 5: REM: ...``): each fold's test bins differ.
    """
    if rec.kind == "reach":
        return None
    fitted = set(np.unique(rec.label[learning_bins(split, refit)]).tolist())
    test = rec.label[split["test"]]
    unseen = [(c, int((test == c).sum())) for c in np.unique(test).tolist() if c not in fitted]
    if not unseen:
        return None
    where = "training or validation bins (the readout's)" if refit else "training bins"
    pronoun = "it" if len(unseen) == 1 else "them"
    counts = ", ".join(f"{rec.class_names[c]}: {n} test bins" for c, n in unseen)
    name = rec.name if fold is None else f"{rec.name}, fold {fold[0] + 1} of {fold[1]}"
    return f"{name}: {counts}, none in the {where}: no method can predict {pronoun}"
