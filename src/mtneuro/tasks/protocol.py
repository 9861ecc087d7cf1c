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
:func:`mtneuro.tasks.segmentation.protocol.task2_card`, here :func:`task3_card`, and
:func:`mtneuro.tasks.neural_protocol.neural_card`, also importable from here); a
:class:`~mtneuro.tasks.api.Task` names its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtneuro.tasks.pretrain.config import CASCADED_ONLY
from mtneuro.vocab import EXACT_PCA_LIMIT, SSL_METHODS

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
    return [f"{label} {setting_text(ours)} (reference {setting_text(reference)}, {where})"]


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


def setting_text(value: Any) -> str:
    """A setting's value as a card writes it: ``on`` / ``off``, ``none``, else ``str``."""
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


#: What mtneuro's pre-training code does, whatever its config, unlike the released code's.
PRETRAIN_CODE = (
    "pre-training projector / predictor heads Linear without bias, BatchNorm, ReLU, Linear with "
    "bias (reference: Linear with bias, BatchNorm, ReLU, Linear without bias, "
    "self_supervised/models/mlp/mlp3.py:20-23, self_supervised/trainer/byol_trainer.py:352-354)"
)
#: The same, for MYOW and MYOW-merged only.
MYOW_CODE = (
    "MYOW never mines a query's own tile: it is excluded from the candidates (reference: no "
    "exclusion, self_supervised/models/ssl/myow_factory.py:55-77 gets no mask, "
    "self_supervised/trainer/myow_trainer.py:459-503; its pool, a separately shuffled batch "
    "of the same training tiles, may hold the query's own, scripts/task1_ssl.py:56-58,127,173)"
)


def _pretrained_on(spec: Any) -> str:
    """`` (pre-trained with M on SOURCE ...)`` as a ``mtneuro pretrain`` checkpoint's meta
    records it, so a row of an encoder trained on a user's own volume says so; ``""`` for
    anything else (a module:callable, a file without that record or not readable)."""
    from mtneuro.models.checkpoint import checkpoint_meta

    meta = checkpoint_meta(spec)
    if meta is None or not isinstance(meta.get("source"), str):
        return ""
    params = meta.get("source_params") or {}
    where = ", ".join([*(f"{k}={v}" for k, v in sorted(params.items())),
                       *(f"{k} {meta[k]}" for k in ("setting", "z_step") if k in meta)])
    images = meta.get("training_images")
    return (f" (pre-trained with {meta.get('method', '?')} for {meta.get('epochs', '?')} "
            f"epochs on source {meta['source']}{f' ({where})' if where else ''}"
            f"{f', {images} images' if isinstance(images, int) else ''})")


def pretraining_deviations(config: Any) -> list[str]:
    """How the SSL pre-training of a task-1 / task-3 config departs from ``task1_ssl.py``'s
    (:data:`PRETRAIN_CODE` and :data:`MYOW_CODE`, then its nested ``pretrain`` config
    compared field by field)."""
    if config.method not in SSL_METHODS:
        return []
    if config.encoder is not None:
        return [f"encoder loaded from {config.encoder}{_pretrained_on(config.encoder)}: its "
                "pre-training is not checked here"]
    pretrain = config.pretrain
    if pretrain is None:  # nothing is pre-trained (e.g. 3D: the run asks for an encoder)
        return []
    mines = config.method != "byol"
    reference = {**PRETRAIN_REFERENCE, **(MYOW_REFERENCE if mines else {})}
    if config.method == "myow-merged":  # no second projector: its sizes are not used
        reference = {k: v for k, v in reference.items() if k not in CASCADED_ONLY}
    out = [PRETRAIN_CODE, *([MYOW_CODE] if mines else [])]
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
    # it moves nn_distance of every crop with fewer than 2 cells, and so its R²
    out += differs("nn_distance of crops with fewer than 2 cells", config.few_cells_distance,
                   64, "annots/features.py:52")
    out += [line for line in [thinned_3d_components(config)] if line is not None]
    method = config.method
    if method in ("pca", "nmf"):
        out.append("PCA / NMF fitted on the training crops only (reference: on all crops, "
                   "annots/latents.py:56-65)")
        out += differs("components", config.preset("n_components"), 256, "annots/latents.py:58")
        if method == "pca" and (config.pixel_input_size // 2) ** 2 <= EXACT_PCA_LIMIT:
            out.append("PCA by an exact SVD (svd_solver full; reference: scikit-learn's default, "
                       "a randomized solver at this size, annots/latents.py:58)")
        if config.setting != "roi-c1":
            out.append(f"pixel components do not depend on the setting here ({config.setting} "
                       "is the roi-c1 computation); the published roi-c3 PCA / NMF rows differ "
                       "from their roi-c1 ones in a way the released code does not show "
                       "(annots/latents.py, scripts/task3_main.py)")
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

        if method == "supervised-mixup":
            out.append("no mixup script was released: mixup added to the supervised encoder's "
                       "training")
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
def neural_card(config: Any, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Card of a :class:`~mtneuro.tasks.neural.NeuralConfig` against the MYOW reference code:
    :func:`mtneuro.tasks.neural_protocol.neural_card` (its own module, which imports this
    one's helpers, hence imported here on call)."""
    from mtneuro.tasks.neural_protocol import neural_card as build

    return build(config, source)
