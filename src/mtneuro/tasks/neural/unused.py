"""Settings of a neural run that it will not use, or use only in part.

A setting given for a method or split that has no use for it (``guard`` on a trial split,
``mined_weight`` with BYOL, ``lr`` with PCA) changes nothing; saying so keeps a user from
reading a difference into two runs that are the same. Two settings apply only in part:
``knn_k`` at or above the batch (MYOW then picks among every candidate) and a MYOW run too
short for its mined-loss ramp to reach full weight.

>>> from mtneuro.tasks.neural.config import NeuralConfig
>>> unused_settings(NeuralConfig(data="chewie-1", method="pca", guard=4), "reach")
['guard not used: only split block has a guard gap (this run: trial)']
"""

from __future__ import annotations

import dataclasses

from mtneuro.tasks.neural.config import NeuralConfig, resolve

_MYOW_ONLY = ("mined_weight", "mined_warmup_steps", "mined_start", "knn_k", "mine_exclude",
              "mined_dim")
_SELF_SUPERVISED_ONLY = ("head_hidden", "ema_start", "ema_schedule", "pos_window")
_TRAINED_ONLY = ("steps", "epochs", "select_every", "batch_size", "lr", "weight_decay",
                 "warmup_steps", "lr_schedule", "hidden", "dropout_p", "dropout_apply_p",
                 "noise_std", "noise_apply_p", "pepper_p", "pepper_c", "pepper_apply_p")
_TRAINED = ("myow", "byol", "supervised")


def given_settings(config: NeuralConfig, kind: str) -> list[str]:
    """The settings of ``config`` (resolved or not) that differ from mtneuro's defaults for
    its recording kind and method: what was given. A default given explicitly changes
    nothing, so it is not counted; a resolved config's kind defaults are not either."""
    ours = resolve(config, kind)
    # the method and the encoder it reads are what is run, not settings of it
    default = resolve(NeuralConfig(data=config.data, method=config.method,
                                   encoder=config.encoder), kind)
    # the guard's default is the run's positive window, given or not
    expected = {**{f.name: getattr(default, f.name) for f in dataclasses.fields(config)},
                "guard": ours.pos_window}
    return [f.name for f in dataclasses.fields(config)
            if getattr(ours, f.name) != expected[f.name]]


def unused_settings(config: NeuralConfig, kind: str, n_train: int | None = None) -> list[str]:
    """One line for each group of given settings the run leaves unused or uses in part.

    Args:
        config: the run's config, before or after
            :func:`~mtneuro.tasks.neural.config.resolve` (:func:`given_settings`).
        kind: ``reach``, ``sleep`` or ``classes``.
        n_train: training bins, when known: the batch is capped at them and ``epochs``
            count passes over them.
    """
    return not_used_settings(config, kind) + partly_used_settings(config, kind, n_train)


def not_used_settings(config: NeuralConfig, kind: str) -> list[str]:
    """The lines of :func:`unused_settings` for settings the run does not use at all: they
    change nothing, so a protocol card notes them without counting them as deviations."""
    return [f"{', '.join(keys)} not used: {why}" for keys, why in _unused(config, kind)]


def partly_used_settings(config: NeuralConfig, kind: str, n_train: int | None = None
                         ) -> list[str]:
    """The lines of :func:`unused_settings` for settings MYOW uses only in part: the run
    then differs from the one asked for."""
    if config.method != "myow":
        return []
    return _partly_used(resolve(config, kind), n_train)


def unused_keys(config: NeuralConfig, kind: str) -> set[str]:
    """The given settings of ``config`` that its run does not use."""
    return {key for keys, _ in _unused(config, kind) for key in keys}


def _unused(config: NeuralConfig, kind: str) -> list[tuple[list[str], str]]:
    """(given keys, why unused) for each group of unused settings."""
    split = resolve(config, kind).split
    given = set(given_settings(config, kind))
    method = config.method
    groups: list[tuple[tuple[str, ...], str]] = [
        (("guard",) if split != "block" else (),
         f"only split block has a guard gap (this run: {split})"),
        (("folds",) if split != "kfold" else (), f"only split kfold has folds (this run: {split})"),
    ]
    if method not in _TRAINED:
        groups.append(((*_TRAINED_ONLY, *_SELF_SUPERVISED_ONLY, *_MYOW_ONLY, "refit_ensemble"),
                       f"method {method} trains nothing"))
        if method != "pca":
            groups.append((("rep_dim",), f"method {method} has no representation size"))
    elif method == "supervised":
        groups.append(((*_SELF_SUPERVISED_ONLY, *_MYOW_ONLY),
                       "they are settings of self-supervised training (myow, byol)"))
    elif method == "byol":
        groups.append((_MYOW_ONLY, "they are settings of MYOW's mining"))
    named = [([key for key in keys if key in given], why) for keys, why in groups]
    return [(keys, why) for keys, why in named if keys]


def _partly_used(resolved: NeuralConfig, n_train: int | None) -> list[str]:
    """MYOW settings that apply only in part: ``knn_k`` at or above the batch, and a ramp
    of the mined weight that ends after the last step."""
    from mtneuro.tasks.neural.train import mined_start_step, schedule, total_steps

    lines = []
    batch = resolved.batch_size if n_train is None else min(resolved.batch_size, n_train)
    if resolved.knn_k >= batch:
        lines.append(f"knn_k {resolved.knn_k} is at least the batch ({batch} anchors): MYOW "
                     "picks at random among every candidate of the batch, not among near ones")
    if resolved.epochs is not None and n_train is None:
        return lines  # the number of steps is known once the training bins are
    steps = total_steps(resolved, n_train or 1)
    end = mined_start_step(resolved, steps) + int(resolved.mined_warmup_steps)
    reached = schedule(steps - 1, steps, resolved)["mined_weight"]
    if end >= steps and reached < resolved.mined_weight:  # full weight first at step `end`
        lines.append(f"MYOW's mined-loss ramp ends at step {end}, after its {steps} steps: the "
                     f"mined weight reaches {reached:.2f} of {resolved.mined_weight} (give more "
                     "steps, or a smaller mined_warmup_steps or mined_start)")
    return lines
