"""The chance reference of a classification task: always predicting the most common
training class, chosen and stated the same way by every task that reports it (task 1,
:mod:`mtneuro.tasks.neural.majority`).

>>> import numpy as np
>>> int(majority_class(np.array([2, 0, 2, 0, 1])))  # a tie goes to the smallest label
0
>>> baseline_text("always the most common training region", {"class": "CTX", "accuracy": 0.25})
'always the most common training region (CTX): accuracy 0.250'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mtneuro.stats import plus_minus

#: How a summary line introduces the baseline: the neural task's classes, task 1's regions.
CLASS_LEAD = "always the most common training class"
REGION_LEAD = "always the most common training region"
#: The lead of each task that states a baseline.
LEADS = {"task1": REGION_LEAD, "neural": CLASS_LEAD}


def majority_class(label: np.ndarray) -> int:
    """The most frequent label (ties: the smallest, as ``argmax`` keeps the first)."""
    return int(np.bincount(np.asarray(label, dtype=np.int64)).argmax())


def baseline_scores(baseline: Mapping[str, Any]) -> dict[str, Any]:
    """The scores of a recorded ``baseline``: every key but its ``class`` and the
    ``KEY_std`` spreads over seeds."""
    return {k: v for k, v in baseline.items() if k != "class" and not k.endswith("_std")}


def baseline_text(lead: str, baseline: Mapping[str, Any], seeds: int = 1) -> str:
    """``LEAD (nREM): accuracy 0.508, f1_weighted 0.342``: every score of ``baseline``
    after its ``class``; a score the seeds vary (a ``KEY_std`` above 0) reads
    ``0.508 ± 0.010 over 3 seeds``."""
    parts = []
    for key, value in baseline_scores(baseline).items():
        std = baseline.get(f"{key}_std") or 0.0
        parts.append(f"{key} {plus_minus(value, std)} over {seeds} seeds" if std > 0
                     else f"{key} {value:.3f}")
    return f"{lead} ({baseline['class']}): {', '.join(parts)}"
