"""The chance reference of a neural run: always predicting the most common training class.

A score means little without it: with shuffled labels every method can sit below this
baseline. It is scored on the run's test bins with the functions that score the methods
(:func:`~mtneuro.tasks.neural.metrics.reach_accuracy`,
:func:`~mtneuro.tasks.neural.metrics.class_scores`), and k-fold test bins are pooled as the
run pools them. The class is chosen as :func:`mtneuro.tasks.majority.majority_class` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mtneuro.stats import mean_std
from mtneuro.tasks.majority import CLASS_LEAD, baseline_text, majority_class
from mtneuro.tasks.neural.metrics import class_scores, reach_accuracy
from mtneuro.tasks.neural.task import score_keys

if TYPE_CHECKING:
    from mtneuro.data.neural import NeuralRecording
    from mtneuro.tasks.neural.splits import Split

def majority_baseline(rec: NeuralRecording, folds: Sequence[Split]) -> dict[str, Any]:
    """Scores of predicting each fold's most common training class on its test bins.

    Returns:
        ``{"class": name, <score keys of the kind>}``: ``accuracy`` and ``delta_accuracy``
        (reach), ``accuracy`` and ``f1_weighted`` (sleep) or ``accuracy`` and ``f1_macro``
        (classes). Where folds disagree on the
        class, ``class`` reads ``"per fold: 0°, 90°, ..."``.
    """
    chosen, guesses = zip(*(_fold_guess(rec, split) for split in folds))
    guess = np.concatenate(guesses)
    if rec.kind == "reach":
        truth = np.concatenate([rec.angle[split["test"]] for split in folds])
        scores = reach_accuracy(guess, truth)
    else:
        truth = np.concatenate([rec.label[split["test"]] for split in folds])
        scores = class_scores(rec.kind, truth, guess)
    names = [rec.class_names[c] for c in chosen]
    keys = score_keys({"kind": rec.kind})  # the run's own headline keys
    return {"class": _one_or_each(names, "fold"), **{k: scores[k] for k in keys}}


def aggregate_majority(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The baseline of several seeds' runs: stated once where the seeds agree (the split
    does not depend on the seed), else the mean under each score key, its sample std
    under ``KEY_std`` and the class of each seed. ``None`` if a run has no baseline."""
    baselines = [row.get("majority") for row in rows]
    if not baselines or any(b is None for b in baselines):
        return None
    if all(b == baselines[0] for b in baselines):
        return dict(baselines[0])
    out: dict[str, Any] = {"class": _one_or_each([str(b["class"]) for b in baselines], "seed")}
    for key in (k for k in baselines[0] if k != "class"):
        stats = mean_std([b[key] for b in baselines])
        out[key], out[f"{key}_std"] = stats["mean"], stats["std"]
    return out


def majority_text(baseline: Mapping[str, Any], seeds: int = 1) -> str:
    """``always the most common training class (nREM): accuracy 0.508, f1_weighted 0.342``;
    a score the seeds vary reads ``0.508 ± 0.010 over 3 seeds``."""
    return baseline_text(CLASS_LEAD, baseline, seeds)


def _fold_guess(rec: NeuralRecording, split: Split) -> tuple[int, np.ndarray]:
    """A fold's most common training class and its prediction for every test bin: the
    class (sleep, classes) or its angle (reach)."""
    train = split["train"]
    chosen = majority_class(rec.label[train])
    # the angle of one of its training bins: the recording's own class -> angle map
    value = rec.angle[train[rec.label[train] == chosen][0]] if rec.kind == "reach" else chosen
    return chosen, np.full(len(split["test"]), value)


def _one_or_each(names: list[str], unit: str) -> str:
    """One name where all agree, else each in order (``per fold: 0°, 90°, 0°``)."""
    return names[0] if len(set(names)) == 1 else f"per {unit}: {', '.join(names)}"
