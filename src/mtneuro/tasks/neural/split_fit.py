"""Whether a recording has trials enough for the split by trials a run asks, said before
splitting, in the run's terms.

The splits (:mod:`mtneuro.tasks.neural.splits`) refuse too few trials in their own terms
(``split.folds: expected int in [3, 9], got 10``), naming neither the file nor the setting
that chose the number (``--folds`` left at its default, which the user never typed); a run
knows both, so it says which file has how many trials and which setting to change.
Likewise a split whose training bins hold nothing to decode (:func:`check_decodable`): a
k-fold run names the fold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.neural.splits import least_trials, trials_in_order
from mtneuro.tasks.neural.zscore import varying

if TYPE_CHECKING:
    from mtneuro.data.neural import NeuralRecording
    from mtneuro.tasks.neural.config import NeuralConfig
    from mtneuro.tasks.neural.splits import Split

#: the fewest trials of ``--split kfold`` (a test, a validation and a training group)
LEAST_FOLDS = 3


def check_trial_count(rec: NeuralRecording, config: NeuralConfig) -> None:
    """Refuse a ``trial`` or ``kfold`` split of ``rec`` that its trials cannot fill.

    Raises:
        ConfigError: one line naming the file, its trial count and the option to change.
    """
    if config.split not in ("trial", "kfold"):
        return
    from mtneuro.tasks.neural.config import NeuralConfig

    n = trials_in_order(rec.trial).size
    source = next(iter(rec.files), rec.name)
    trials = f"{n} trial{'' if n == 1 else 's'}"
    least = least_trials()
    if n < LEAST_FOLDS:
        raise ConfigError(f"split {config.split}: {source} has {trials} (its trial array), too "
                          f"few for any split by trials (trial: at least {least}; kfold: at "
                          f"least {LEAST_FOLDS}); number the trials of its bins in its trial "
                          "array")
    if config.split == "trial" and least is not None and n < least:
        raise ConfigError(f"split trial: {source} has {trials}, too few for 80/10/10 % of "
                          f"trials (at least {least}, one of them tested); pass --split kfold "
                          f"--folds {n} (split: kfold, folds: {n} in a config or params), each "
                          "fold testing one trial")
    if config.split == "kfold" and config.folds > n:
        default = "the default " if config.folds == NeuralConfig.folds else ""
        raise ConfigError(f"split kfold: {default}--folds {config.folds} is more than the "
                          f"{trials} in {source}; pass --folds {n} or fewer (folds: {n} in a "
                          "config or params)")


def check_decodable(rec: NeuralRecording, split: Split, config: NeuralConfig | None = None,
                    fold: int = 0) -> None:
    """Something to decode from: a neuron whose rate varies and two classes in the
    training bins (else the readout or the 2-D projection failed with a traceback).

    Args:
        config, fold: the run's resolved config and the index of ``split`` among its
            folds: a k-fold run's error names the fold and what to change.
    """
    train = split["train"]
    if not varying(rec.rates[train]).any():
        raise DataError(f"{rec.name}: every neuron's rate is constant over the training bins; "
                        "there is nothing to decode")
    classes = np.unique(rec.label[train])
    if len(classes) >= 2:
        return
    one = f"one class only ({rec.class_names[int(classes[0])]}); a decoder needs two or more"
    if config is None or config.split != "kfold":
        raise DataError(f"{rec.name}: the training bins hold {one}")
    held = np.unique(rec.trial[train]).size
    n = trials_in_order(rec.trial).size
    # folds are contiguous groups of trials in recorded order, and a fold trains on all but
    # two of them: more folds train each on more trials, fewer on fewer
    more = (f"pass more --folds (at most {n}, the trial count: each fold then trains on more "
            "trials) or --split trial" if config.folds < n else "pass --split trial")
    raise DataError(f"{rec.name}: fold {fold + 1} of {config.folds} (--split kfold): its "
                    f"training bins ({held} trial{'' if held == 1 else 's'} of {n}) hold {one}; "
                    f"{more}")
