"""Whether a recording has trials enough for the split by trials a run asks, said before
splitting, in the run's terms.

The splits (:mod:`mtneuro.tasks.neural.splits`) refuse too few trials in their own terms
(``split.folds: expected int in [3, 9], got 10``), naming neither the file nor the setting
that chose the number (``--folds`` left at its default, which the user never typed); a run
knows both, so it says which file has how many trials and which setting to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtneuro.errors import ConfigError
from mtneuro.tasks.neural.splits import least_trials, trials_in_order

if TYPE_CHECKING:
    from mtneuro.data.neural import NeuralRecording
    from mtneuro.tasks.neural.config import NeuralConfig

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
