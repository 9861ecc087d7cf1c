"""Protocol cards: is a run comparable with the published numbers it is shown beside?

Every ``metrics.json`` written by a task command or a bench cell carries a card:

* ``protocol``: ``{"name": "<task>-<preset>", "version": N}``, the protocol the run
  followed (the version changes whenever that preset's definition does);
* ``deviations``: plain sentences, one per way the run differs from the protocol of
  the published numbers, citing the reference file and line; empty when the run is
  exactly the published protocol on the published data;
* ``notes``: plain sentences that describe the run without making it incomparable (a
  given setting the run does not use); shown after the deviations, never counted.

Data count as well as method: a synthetic or one-slice source, or sub-volumes B-D
(:data:`SUBVOLUME_NOTE`), make numbers incomparable as surely as another optimiser.
Each task builds its card next to its protocol definition
(:func:`mtneuro.tasks.region_protocol.task1_card`,
:func:`mtneuro.tasks.segmentation.protocol.task2_card`, and here :func:`task3_card`,
:func:`neural_card`); a :class:`~mtneuro.tasks.api.Task` names its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtneuro.vocab import SSL_METHODS

#: Said of every ROI-C2 / ROI-C3 run, and beside published ROI-C2 / ROI-C3 rows.
SUBVOLUME_NOTE = (
    "ROI-C2/C3 use sub-volumes B, C and D defined by this package (no coordinates were "
    "published; rule in docs/protocols.md), so their tiles may differ from the published runs'"
)
SUBVOLUME_SETTINGS = ("roi-c2", "roi-c3")
#: Protocol name of a card for a config no card builder knows (e.g. a plugin task).
UNCHECKED = "unchecked"
#: Heads a card's notes wherever it is shown (they are not deviations).
NOTES_HEAD = "notes (not deviations):"
_DATA = {
    "phantom": "data: the synthetic phantom volume, not the real one (BossDB prasad2020)",
    "slice": "data: the one real slice z=309 (64 x 64 windows of one slice), not the real volume",
}


def card(name: str, version: int, deviations: list[str],
         notes: Sequence[str] = ()) -> dict[str, Any]:
    """The three ``metrics.json`` keys of a card (``notes`` is written even when empty)."""
    return {"protocol": {"name": name, "version": int(version)},
            "deviations": list(deviations), "notes": list(notes)}


def components_used(requested: int, per_seed: Sequence[Mapping[str, Any]]) -> list[str]:
    """The deviation of a PCA / NMF run whose decomposition kept fewer components than
    ``requested`` (:class:`~mtneuro.tasks.baselines.PixelDecomposition`'s caps), from its
    ``per_seed`` rows' ``n_components``; the card, written before the data were read,
    names the request."""
    used = sorted({int(row["n_components"]) for row in per_seed if "n_components" in row})
    if not used or used[0] >= requested:  # any seed below the request departs from it
        return []
    return [(f"components {', '.join(map(str, used))} used of the {requested} asked for: PCA "
             "keeps at most one fewer than the training samples (centred, they span no more) "
             "and the pixels, NMF at most the training samples and the pixels")]


def differs(label: str, ours: Any, reference: Any, where: str) -> list[str]:
    """``["<label> <ours> (reference <reference>, <where>)"]`` when they differ, else ``[]``."""
    if ours == reference:
        return []
    return [f"{label} {_text(ours)} (reference {_text(reference)}, {where})"]


def slice_step_differs(label: str, z_step: int, where: str,
                       source: str | Mapping[str, Any] | None) -> list[str]:
    """:func:`differs` for a slice step against the reference's 1 (every slice), except
    where ``source`` is a one-slice volume (the ``slice`` source, or a cache of it): its
    smoke protocol reads every window of that slice whatever the step
    (:func:`mtneuro.tasks.volume.pretraining_tiles`), so the step changes nothing there.

    Args:
        source: a source name (before the run) or its ``describe()`` (after it).
    """
    if isinstance(source, Mapping):
        one_slice = (source.get("shape") or [0])[0] == 1
    else:
        one_slice = source == "slice"
    return [] if one_slice else differs(label, z_step, 1, where)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    return str(value)


def data_deviations(source: str | Mapping[str, Any], setting: str | None = None) -> list[str]:
    """Deviations of the data: the volume source, and sub-volumes B-D of ROI-C2/C3.

    Args:
        source: a source name (before the run) or its ``describe()`` (after it; a cache
            is then judged by the source that filled it).
        setting: the task-1 / task-3 setting, if any.
    """
    out = []
    if isinstance(source, Mapping):
        name = str(source.get("source", ""))
        upstream = source.get("upstream")
        if name == "cache" and isinstance(upstream, Mapping):
            name = str(upstream.get("source", ""))
            out += [f"{_DATA[name]} (read through a local cache)"] if name in _DATA else []
        elif name in _DATA:
            out.append(_DATA[name])
    elif source == "cache":
        out.append("data: a local cache, comparable only if filled from bossdb (its upstream "
                   "is recorded when the run reads it)")
    elif source in _DATA:
        out.append(_DATA[source])
    if setting in SUBVOLUME_SETTINGS:
        out.append(SUBVOLUME_NOTE)
    return out


# -- task 3 ----------------------------------------------------------------------------------
TASK3_VERSION = 1

_SSL = "SSL_*_ResNet-18_2D.json"
#: ``task1_ssl.py`` pre-training (``networkconfig/SSL_*_ResNet-18_2D.json`` keys; lines in
#: docs/protocols.md): PretrainConfig field -> (value, where).
PRETRAIN_REFERENCE = {
    "backbone": ("resnet18", f"{_SSL} encoder_name"),
    "crop": (128, "scripts/task1_ssl.py:80"),
    "z_step": (1, "all training slices"),
    "epochs": (800, f"{_SSL} ssl_epochs"),
    "batch_size": (8, f"{_SSL} batch_size"),
    "optimizer": ("sgd", f"{_SSL} ssl_optimizer"),
    "base_lr": (0.03, f"{_SSL} base_learning_rate"),
    "momentum": (0.9, f"{_SSL} opt_momentum"),
    "weight_decay": (5e-4, f"{_SSL} weight_decay"),
    "warmup_epochs": (10.0, f"{_SSL} lr_warmup_epochs"),
    "base_momentum": (0.996, f"{_SSL} base_momentum"),
    "projector_hidden": (4096, f"{_SSL} projector_hidden_size"),
    "projector_out": (256, f"{_SSL} projector_output_size"),
    "same_crop_on_batch": (True, ("self_supervised/transforms/xray.py:26,59-60, one "
                                  "RandomCrop offset per batch tensor")),
    "exclude_bias_and_norm": (False, "scripts/task1_ssl.py:108,152,198"),
    "amp": ("none", "fp32: no autocast in the released code"),
}
#: MYOW and MYOW-merged only (``SSL_MYOW*_ResNet-18_2D.json``).
MYOW_REFERENCE = {
    "mined_projector_hidden": (4096, "SSL_MYOW*_ResNet-18_2D.json projector_2_hidden_size"),
    "mined_out": (256, "SSL_MYOW*_ResNet-18_2D.json projector_2_output_size"),
    "mined_weight": (0.1, "SSL_MYOW*_ResNet-18_2D.json myow_base_weight"),
    "mined_rampup_epochs": (10.0, "SSL_MYOW*_ResNet-18_2D.json myow_rampup_epochs"),
    "k": (1, "SSL_MYOW*_ResNet-18_2D.json knn_nneighs"),
    "mining_view": ("third", ("self_supervised/trainer/myow_trainer.py:383,445-452,585, a "
                              "third crop of the batch, cut with the pool, on its own forward")),
}


def pretraining_deviations(config: Any) -> list[str]:
    """How the SSL pre-training of a task-1 / task-3 config departs from ``task1_ssl.py``'s
    (compared field by field with its nested ``pretrain`` config)."""
    if config.method not in SSL_METHODS:
        return []
    if config.encoder is not None:
        return [f"encoder loaded from {config.encoder}: its pre-training is not checked here"]
    pretrain = config.pretrain
    if pretrain is None:  # nothing is pre-trained (e.g. 3D: the run asks for an encoder)
        return []
    reference = {**PRETRAIN_REFERENCE, **(MYOW_REFERENCE if config.method != "byol" else {})}
    out = []
    for key, (value, where) in reference.items():
        ours = getattr(pretrain, key)
        ours = "resnet18" if key == "backbone" and ours == "auto" else ours
        if key == "amp" and ours == "auto" and pretrain.device == "cpu":
            ours = "none"  # autocast is off on CPU: the run is in fp32, as the reference
        out += differs(f"pre-training {key}", ours, value, where)
    return out


# -- task 3's rules that its card and its run share -------------------------------------------
def trains_on_setting(config: Any) -> bool:
    """Whether the run trains an encoder on task-1 ``setting``'s tiles (supervised, or SSL
    pre-trained on the fly); PCA / NMF and a given encoder read no setting."""
    from mtneuro.tasks.volume import pretrains_on_the_fly
    from mtneuro.vocab import SUPERVISED_METHODS

    return config.method in SUPERVISED_METHODS or pretrains_on_the_fly(config)


def thinned_3d_components(config: Any) -> str | None:
    """What 3d cell components over thinned slices do, or None: they join cells of slices
    ``z_step`` apart, which are neither the reference's cells (consecutive slices) nor 2d
    ones."""
    z_step = config.preset("z_step")
    if config.connectivity != "3d" or z_step == 1:
        return None
    return (f"cell components 3d over every {z_step}th slice join cells {z_step} slices apart "
            "(reference: 3d over consecutive slices, annots/features.py:19-20)")


def task3_card(config: Any, source: str | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Card of a :class:`~mtneuro.tasks.semantic_config.Task3Config` against ``task3_main.py``
    (headline: its in-sample R² of the features of ``annots/features.py``)."""
    out: list[str] = []
    if not config.reference_features:
        out.append("corrected cell size and nearest-neighbour distance, reported as "
                   "cell_size_exact / nn_distance_exact (published columns left empty; "
                   "annots/features.py:51-65)")
    z_step = config.preset("z_step")
    data = source if source is not None else config.source
    out += slice_step_differs("every n-th slice, n =", z_step,
                              "taskconfig/task3.json:7, all slices", data)
    connectivity = config.connectivity or ("3d" if z_step == 1 else "2d")
    out += differs("cell components", connectivity, "3d", "annots/features.py:19-20, 6-connected")
    out += [line for line in [thinned_3d_components(config)] if line is not None]
    method = config.method
    if method in ("pca", "nmf"):
        out.append("PCA / NMF fitted on the training crops only (reference: on all crops, "
                   "annots/latents.py:56-65)")
        out += differs("components", config.preset("n_components"), 256, "annots/latents.py:57")
        if method == "nmf":
            out.append("NMF initialised with nndsvda (reference: random, annots/latents.py:63)")
            out += differs("NMF iterations", config.preset("nmf_max_iter"), 200,
                           "annots/latents.py:63, scikit-learn's default")
        out += differs("pixel crops of tiles resized to", config.pixel_input_size, 128,
                       "annots/latents.py:50")
    else:
        out += differs("encoder crops of tiles resized to", config.input_size, 64,
                       "self_supervised/data/datasets/brain_dataset.py:22")
        # a user's encoder declares its own (often none: then there is no deviation, but
        # the card is written before the encoder is built, so it says which applies)
        whose = ("the mean / std the encoder declares, if any" if method == "encoder"
                 else "the encoder's mean / std")
        out.append(f"encoder inputs normalised with {whose} (reference: [0, 1] intensities, "
                   "annots/latents.py:23-39)")
    if method in ("supervised", "supervised-mixup"):
        from mtneuro.tasks.supervised import QUICK_EPOCHS, RESIZED

        out += differs("supervised encoder backbone", config.preset("backbone"), "resnet18",
                       "the published row's ResNet-18")
        if config.quick:
            out.append(f"supervised encoder trained {QUICK_EPOCHS} epochs (the resized "
                       f"recipe: {RESIZED['epochs']})")
        out.append("supervised encoder trained on task 1 (resized protocol); the released "
                   "get_latents loads no weights for supervised encoders "
                   "(annots/latents.py:29-31), "
                   "so the published supervised row may be a randomly initialised ResNet-18")
    out += pretraining_deviations(config)
    if method == "encoder":
        out.append("a user encoder: no published row to compare with")
    # a setting's sub-volumes matter only to a run that trains on its tiles
    out += data_deviations(data, config.setting if trains_on_setting(config) else None)
    name = "task3-quick" if config.quick else "task3-paper"
    return card(name, TASK3_VERSION, out)


# -- neural ----------------------------------------------------------------------------------
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


def _recording_kind(data: str) -> str | None:
    text = str(data)
    if text.startswith("chewie") or text.startswith("mihi"):
        return "reach"
    if text.startswith("mouse") or text.startswith("rat"):
        return "sleep"
    return None


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
    changed = [f"{name} {_text(getattr(resolved, name))} (default "
               f"{_text(getattr(default, name))})" for name in given_settings(config, kind)
               if name not in _OWN_LINES | unused]
    lines = [f"settings other than mtneuro's defaults: {', '.join(changed)}"] if changed else []
    return lines + partly_used_settings(config, kind)


def neural_card(config: Any) -> dict[str, Any]:
    """Card of a :class:`~mtneuro.tasks.neural.NeuralConfig` against the MYOW reference code
    (``nerdslab/myow-neuro``), whose runs give the neural rows labelled "reference code,
    run here"."""
    kind = _recording_kind(config.data)
    if kind is None:
        return card("neural", NEURAL_VERSION, [f"recording {config.data}: no reference run"])
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
    elif config.method == "supervised":
        out.append("supervised MLP: no reference-code row to compare with")
    elif config.method == "encoder":
        out.append("a user encoder, read out as the raw rates are: no reference-code row")
    script = "train_monkey.py:83" if kind == "reach" else "train_mouse.py:83"
    trained = config.method in ("myow", "byol", "supervised")
    if trained:
        out.append("training length chosen on validation, then the encoder retrained on training + "
                   f"validation for that length (reference: training + validation for all epochs, {script})"
                   if resolved.refit else
                   f"encoder trained on training bins only (reference: training + validation, {script})")
    if resolved.refit:
        out.append("readout refitted on training + validation with the penalty chosen on validation "
                   "(reference: fitted on training)")
    if trained and resolved.refit and resolved.refit_ensemble:
        out.append("readout reads the first-pass encoder's features beside the retrained encoder's "
                   "(reference: one encoder)")
    out.append("readout fitted in closed form / by L-BFGS over the reference's weight-decay grid "
               "(reference: a linear layer trained by AdamW for 100 passes per weight decay, "
               "myow/tasks/train_reach_angle_regressor.py, train_sleep_classifier.py)")
    out += _changed_settings(config, resolved, kind)
    reference_split = "trial" if kind == "reach" else "block"
    out += differs("split", resolved.split, reference_split, "myow/data/"
                   + ("monkey" if kind == "reach" else "rodent") + "_neural_dataset.py")
    if kind == "sleep" and resolved.split == "block" and (resolved.guard or 0) > 0:
        out.append(f"split: contiguous blocks with a {resolved.guard}-bin guard gap dropped "
                   "between splits (reference: no gap, myow/data/rodent_neural_dataset.py)")
    # a given setting the run does not use changes nothing: noted, the run stays comparable
    return card(f"neural-{kind}", NEURAL_VERSION, out, not_used_settings(config, kind))
