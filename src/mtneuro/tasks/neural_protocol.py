"""Protocol card of a neural-decoding run (:func:`neural_card`), against the MYOW reference
code ``nerdslab/myow-neuro``: ``train_monkey.py`` for reach recordings, ``train_mouse.py``
for sleep ones, whose runs give the neural rows labelled "reference code, run here".

mtneuro's defaults were chosen on development folds (docs/neural.md), so they need not be
the reference's; the card names every place where a run departs from the reference
script's settings, citing its lines, whether or not the run kept mtneuro's defaults.
Imported through :mod:`mtneuro.tasks.protocol` as well.
"""

from __future__ import annotations

import math
from typing import Any

from mtneuro.tasks.protocol import card, differs, setting_text

NEURAL_VERSION = 3  # 2: refit on training + validation (issue 15); 3: refit ensemble
#: myow-neuro reference training per recording kind: epochs, optimiser text, lr (file:line),
#: and what its epochs come to: each is floor(training + validation bins / 512) batches
#: (``drop_last``), where mtneuro's ``epochs`` count ceil(training bins / batch_size) steps.
_NEURAL_REFERENCE = {
    "reach": (10000, "AdamW", 2e-4, "train_monkey.py:41,54,136",
              "1 batch an epoch on chewie-1: 10,000 steps"),
    "sleep": (800, "SGD (momentum 0.98)", 2e-3, "train_mouse.py:40,53-54,137",
              "16 batches an epoch on mouse-ca1: 12,800 steps"),
}
#: The reference's target EMA per kind: (schedule, rate at step 0, where). The monkey
#: script's cosine line is commented out; the mouse script's ``update_momentum`` starts at
#: 1 - 0.98 (its flag ``mm`` is the cosine's amplitude) and is passed to every EMA step.
_EMA_REFERENCE = {
    "reach": ("constant", 0.98, "train_monkey.py:55,159-161,178,232"),
    "sleep": ("cosine", 0.02, ("train_mouse.py:54,160-161,178,232: "
                               "1 - 0.98 (1 + cos(pi step / total steps)) / 2")),
}
#: Output size of the reference's mined projector / predictor (``projector_output_size``).
_MINED_OUT = {"reach": (32, "train_monkey.py:46,125,128"),
              "sleep": (16, "train_mouse.py:45,126,129")}
#: The reference's positives: bins t .. t + k of the same trial (``pos_kmin=0``).
_POSITIVES = {"reach": (2, "train_monkey.py:61,110-111"),
              "sleep": (3, "train_mouse.py:60,110-111")}
#: The reference's learning-rate schedule: computed, logged, never set on the optimiser.
_LR_WHERE = {"reach": "train_monkey.py:153-157,177,236", "sleep": "train_mouse.py:154-158,177,236"}
#: Which parameters the reference decays. ``collect_params`` skips names containing
#: "bias" or "bn", and its MLPs' BatchNorm / PReLU weights are named ``layers.N.weight``.
_DECAY = {
    "reach": "every parameter, exclude_bias_and_bn=False, train_monkey.py:135",
    "sleep": ("every parameter but biases: BatchNorm and PReLU weights too, "
              "train_mouse.py:136, myow/utils.py:33"),
}
#: The reference z-scores with, and drops the neurons constant in, the ``trainval`` bins.
_ZSCORE = {"reach": "train_monkey.py:83,94,118", "sleep": "train_mouse.py:83,94,119"}


def _recording_kind(data: str) -> str | None:
    """The kind of the catalogued recording ``data`` names (by name or by its file's place),
    whose reference runs the card compares with; ``None`` for a user's file, whatever its
    name (a user's ``chewie-1.npz`` is no Chewie recording, ``mouse_reach.npz`` no sleep one)."""
    from mtneuro.data.neural import catalogued_name, recording_kind

    name = catalogued_name(data)
    return None if name is None else recording_kind(name)


#: NeuralConfig fields the neural card states on its own lines, or that choose the run
#: rather than the model (recording, method, seed, split, training length, refit)
_OWN_LINES = {"data", "data_root", "method", "seed", "split", "folds", "guard", "steps",
              "epochs", "lr", "refit", "refit_ensemble", "threads", "quiet"}


def _changed_settings(config: Any, resolved: Any, kind: str) -> list[str]:
    """One line naming every model or training setting that differs from mtneuro's default
    for this kind and method (a tuned run is not the default one the rows compare), then
    the given settings the run uses in part (those it leaves unused are the card's notes)."""
    from mtneuro.tasks.neural.config import resolve
    from mtneuro.tasks.neural.unused import given_settings, partly_used_settings, unused_keys

    default = resolve(type(config)(data=config.data, method=config.method), kind)
    unused = unused_keys(config, kind)  # named on their own line, not as a changed setting
    changed = [f"{name} {setting_text(getattr(resolved, name))} (default "
               f"{setting_text(getattr(default, name))})" for name in given_settings(config, kind)
               if name not in _OWN_LINES | unused]
    lines = [f"settings other than mtneuro's defaults: {', '.join(changed)}"] if changed else []
    return lines + partly_used_settings(config, kind)


def _ema_text(schedule: str, start: float) -> str:
    if schedule == "constant":
        return f"constant {setting_text(start)}"
    return f"cosine from {start:g} to 1"


def _ssl_lines(resolved: Any, kind: str) -> list[str]:
    """How BYOL / MYOW training departs from the reference script of ``kind`` beyond its
    length and optimiser: schedules, weight decay, positives, encoder, MYOW's heads."""
    out = []
    if resolved.warmup_steps or resolved.lr_schedule != "constant":
        then = "constant" if resolved.lr_schedule == "constant" else "cosine decay to 0"
        ours = (f"{resolved.warmup_steps}-step linear warm-up, then {then}"
                if resolved.warmup_steps else then)
        out.append(f"learning rate: {ours} (reference: constant; its warm-up and cosine are "
                   f"computed and logged, never set on the optimiser, {_LR_WHERE[kind]})")
    if resolved.weight_decay:
        out.append("weight decay on the weights of linear layers only, not on biases or "
                   f"BatchNorm weights (reference: on {_DECAY[kind]})")
    schedule, start, where = _EMA_REFERENCE[kind]
    if resolved.ema_schedule != schedule or not math.isclose(resolved.ema_start, start,
                                                             abs_tol=1e-9):
        out.append(f"target EMA rate {_ema_text(resolved.ema_schedule, resolved.ema_start)} "
                   f"(reference {_ema_text(schedule, start)}, {where})")
    k = int(resolved.pos_window)
    reach, where = _POSITIVES[kind]
    ours = f"within bins t-{k} .. t+{k} of the same trial" if k else "the anchor bin itself"
    out.append(f"temporal positives {ours} (reference: t .. t+{reach}, forward only, "
               f"pos_kmin=0, {where})")
    out.append("encoder: BatchNorm momentum 0.1 and ReLU, output layer with a bias, target "
               "encoder starting as a copy of the online one (reference: momentum 0.99, PReLU, "
               "no bias, myow/mlp.py:36,38,41; target encoder re-initialised, myow/myow.py:66)")
    if resolved.method == "myow":
        size, where = _MINED_OUT[kind]
        out += differs("MYOW mined projector / predictor output", resolved.mined_dim, size,
                       where)
    return out


def _zscore_lines(resolved: Any, kind: str) -> list[str]:
    """The z-scoring that is the training bins' alone where the reference's is training +
    validation: every pass without the refit; with it, the first-pass encoder the refit
    ensemble reads (raw / PCA and the retrained encoder re-scale on training + validation)."""
    trained = resolved.method in ("myow", "byol")
    if resolved.refit and not (trained and resolved.refit_ensemble):
        return []
    which = ("the first-pass encoder, whose features the readout also reads,"
             if resolved.refit else "the run")
    return [(f"{which} z-scores with the training bins' statistics and drops the neurons "
             "constant in them (reference: training + validation bins, "
             f"{_ZSCORE[kind]}, myow/transforms/normalize.py:18-23)")]


def _encoder_origin(config: Any, source: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(deviations, notes) on where a method-``encoder`` run's encoder was trained
    (:func:`~mtneuro.tasks.neural.encoder_origin.encoder_origin`), for any recording."""
    if config.method != "encoder":
        return [], []
    from mtneuro.data.neural import recording_kind
    from mtneuro.tasks.neural.config import SPLITS_BY_KIND, resolve
    from mtneuro.tasks.neural.encoder_origin import encoder_origin

    kind = (source or {}).get("kind") or recording_kind(config.data)
    split = resolve(config, kind).split if kind in SPLITS_BY_KIND else config.split
    return encoder_origin(config, split, source)


def neural_card(config: Any, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Card of a :class:`~mtneuro.tasks.neural.NeuralConfig` against the MYOW reference code
    (``nerdslab/myow-neuro``), whose runs give the neural rows labelled "reference code,
    run here"; ``source``: the recording's ``describe()`` once read (a user encoder's
    training is then checked against its test bins,
    :func:`~mtneuro.tasks.neural.encoder_origin.encoder_origin`)."""
    origin, origin_notes = _encoder_origin(config, source)
    kind = _recording_kind(config.data)
    if kind is None:
        return card("neural", NEURAL_VERSION,
                    [f"recording {config.data}: no reference run", *origin], origin_notes)
    from mtneuro.tasks.neural.config import resolve
    from mtneuro.tasks.neural.unused import not_used_settings

    resolved = resolve(config, kind)
    epochs, optimizer, lr, where, in_steps = _NEURAL_REFERENCE[kind]
    out: list[str] = []
    if config.method in ("myow", "byol"):
        length = (f"{resolved.epochs} epochs of ceil(training bins / {resolved.batch_size}) steps"
                  if resolved.epochs is not None else f"{resolved.steps} optimiser steps")
        out.append(f"training: {length} (reference {epochs} epochs of floor(training + "
                   f"validation bins / 512) steps, {in_steps}, {where})")
        out += differs("optimiser AdamW, lr", resolved.lr, lr, where)
        if kind == "sleep":
            out.append(f"optimiser AdamW (reference {optimizer}, {where})")
        if config.method == "myow" and resolved.mined_start:
            mined_where = "train_monkey.py" if kind == "reach" else "train_mouse.py"
            out.append(f"MYOW trains as BYOL for the first {resolved.mined_start:.0%} of its "
                       f"steps, then ramps the mined weight over {resolved.mined_warmup_steps} "
                       "steps (reference: mining from the start, weight ramped over 10 epochs, "
                       f"{mined_where})")
        out += _ssl_lines(resolved, kind)
    elif config.method == "supervised":
        out.append("supervised MLP: no reference-code row to compare with")
    elif config.method == "encoder":
        out.append("a user encoder, read out as the raw rates are: no reference-code row")
        out += origin
    if config.method in ("myow", "byol", "raw", "pca"):
        out += _zscore_lines(resolved, kind)
    script = "train_monkey.py:83" if kind == "reach" else "train_mouse.py:83"
    trained = config.method in ("myow", "byol", "supervised")
    if trained:
        out.append("training length chosen on validation, then the encoder retrained on "
                   "training + validation for that length (reference: training + validation "
                   f"for all epochs, {script})" if resolved.refit else
                   "encoder trained on training bins only (reference: training + validation, "
                   f"{script})")
    if resolved.refit:
        out.append("readout refitted on training + validation with the penalty chosen on "
                   "validation (reference: fitted on training)")
    if trained and resolved.refit and resolved.refit_ensemble:
        out.append("readout reads the first-pass encoder's features beside the retrained "
                   "encoder's (reference: one encoder)")
    out.append("readout fitted in closed form / by L-BFGS as an L2 penalty on standardised "
               "features over the values of the reference's weight-decay grid, not the same "
               "strengths (reference: a linear layer trained by AdamW for 100 passes per "
               "decoupled weight decay, myow/tasks/train_reach_angle_regressor.py, "
               "train_sleep_classifier.py)")
    out.append("readout penalties that tie on validation accuracy are told apart by "
               + ("delta-accuracy, then mean angular error" if kind == "reach"
                  else "weighted F1")
               + " (reference: the first best in grid order, the smallest weight decay, "
               "MetricLogger's strict improvement)")
    out += _changed_settings(config, resolved, kind)
    reference_split = "trial" if kind == "reach" else "block"
    out += differs("split", resolved.split, reference_split, "myow/data/"
                   + ("monkey" if kind == "reach" else "rodent") + "_neural_dataset.py")
    if kind == "sleep" and resolved.split == "block" and (resolved.guard or 0) > 0:
        out.append(f"split: contiguous blocks with a {resolved.guard}-bin guard gap dropped "
                   "between splits (reference: no gap, myow/data/rodent_neural_dataset.py)")
    # a given setting the run does not use changes nothing: noted, the run stays comparable
    return card(f"neural-{kind}", NEURAL_VERSION, out,
                not_used_settings(config, kind) + origin_notes)
