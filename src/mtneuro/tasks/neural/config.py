"""Typed configuration of a neural-decoding run (:class:`NeuralConfig`).

Every training field left at ``None`` takes the default of the recording's kind
(:data:`KIND_DEFAULTS`): MYOW's monkey-reach setup for ``reach`` and for ``classes`` (a
user's classes in trials, as reach files have them), its mouse setup for ``sleep``.
Defaults depend on the kind only, never on the recording.

>>> from mtneuro.config import from_mapping
>>> cfg = from_mapping(NeuralConfig, {"data": "chewie-1", "method": "byol"})
>>> resolve(cfg, "reach").pos_window
2
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from pathlib import Path
from typing import ClassVar, Literal

from mtneuro.config import CheckedConfig, a_seed, check, in_unit_interval, positive
from mtneuro.errors import ConfigError
from mtneuro.vocab import ENCODER_METHOD, NEURAL_METHODS

# ``encoder``: a user's frozen encoder read out as the raw rates are (``mtneuro.evaluate``)
Method = Literal[(*NEURAL_METHODS, ENCODER_METHOD)]
SplitName = Literal["auto", "trial", "kfold", "block", "random"]
#: The splits each kind of recording takes (``auto``: the first).
SPLITS_BY_KIND = {"reach": ("trial", "kfold"), "sleep": ("block", "random"),
                  "classes": ("trial", "kfold")}
Schedule = Literal["constant", "cosine"]

#: Most optimiser steps of the ``quick`` preset (``mtneuro neural --quick``) when neither
#: ``steps`` nor ``epochs`` is given.
QUICK_STEPS = 400

_nonneg = check(lambda v: v >= 0, "float >= 0")
_nonneg_int = check(lambda v: v >= 0, "int >= 0")


@dataclasses.dataclass(frozen=True)
class NeuralConfig(CheckedConfig):
    """One neural-decoding run.

    Attributes:
        data: registry name (``chewie-1``, ``mouse-ca1``, ...) or path of a recording.
        data_root: optional data root for named recordings.
        method: ``myow`` | ``byol`` (self-supervised), ``supervised`` (MLP end-to-end),
            ``pca`` | ``raw`` (linear readout of PCA components / z-scored rates),
            ``encoder`` (linear readout of a frozen encoder's features: ``encoder``).
        encoder: with method ``encoder``, the frozen encoder read out: a checkpoint path
            (e.g. an ``encoder.pt`` of ``mtneuro neural``) or ``module:callable``, built
            under seed 0 (:func:`mtneuro.models.resolve_encoder_at_seed`).
        seed: random seed (training, views, PCA solver).
        split: ``trial`` (reach and classes, 80/10/10 trials in order), ``kfold`` (reach
            and classes, folds over trials), ``block`` (sleep, contiguous with guard gap),
            ``random`` (sleep, 70/10/20 random bins; not the reference code's split, which
            is contiguous); ``auto`` picks trial / block.
        folds: number of folds for ``kfold``.
        guard: guard gap in bins for ``block``; ``None`` = the positive window.
        steps: optimiser steps; ``epochs`` (passes over the training bins) wins if set: an
            epoch is ceil(bins / batch_size) steps, where the reference's drops the partial
            batch (chewie-1: 2 steps here against its 1).
        select_every: every this many steps (and at the last), score the encoder with
            the linear readout on the validation bins and keep the best checkpoint
            (early stopping by validation, :mod:`mtneuro.tasks.neural.select`); 0 keeps
            the last step.
        refit: after that first pass (encoder on the training bins, training length and
            readout penalty chosen on validation), retrain the encoder from scratch (with
            its own seed, ``train.member_seed(seed, 1)``; the first pass trains with
            ``seed``) on training + validation bins for the chosen number of steps and fit
            the readout on them with the chosen penalty; raw / PCA re-scale on training +
            validation.
            On held-out development groups it raised accuracy by 0.01-0.02 on average
            (docs/neural.md, ``benchmarks/neural_refit.py``); it costs a second,
            shorter training.
        refit_ensemble: with ``refit``, a trained method's readout reads the first-pass
            encoder's features beside the retrained encoder's (two trainings the run
            makes anyway, from different seeds). On held-out development groups its
            accuracy was at or above the retrained encoder's alone for every recording
            and method tried (docs/neural.md; measured while both trainings shared the
            run's seed); it costs nothing in training.
        batch_size: anchors per step (capped at the number of training bins).
        lr, weight_decay: AdamW learning rate and decoupled weight decay.
        warmup_steps: linear learning-rate warm-up.
        lr_schedule: after warm-up, ``constant`` or ``cosine`` decay to 0.
        ema_start: target EMA rate (at step 0 for ``ema_schedule="cosine"``).
        ema_schedule: ``constant`` or ``cosine`` from ``ema_start`` to 1.
        hidden, rep_dim: encoder MLP widths and representation size.
        head_hidden, mined_dim: predictor / mined-projector widths (MYOW heads).
        mined_weight, mined_warmup_steps: MYOW mined-loss weight (convex mix) and its ramp.
        mined_start: MYOW trains as BYOL (mined weight 0) for this fraction of its steps,
            so the nearest neighbours it mines come from a representation that has already
            learnt something (the older MYOW code's ``myow_warmup``).
        knn_k: MYOW mines one of the ``k`` nearest candidates at random.
        mine_exclude: candidates of the anchor's own trial are never mined (``trial``,
            reach default, as the reference); a number of bins excludes only those of the
            anchor's own trial that close in recorded time, so other trials are always
            minable (sleep, one long trial: default 150, the reference's negative window).
        pos_window: temporal positives within +-``pos_window`` bins of the same trial.
        dropout_p, dropout_apply_p, noise_std, noise_apply_p, pepper_p, pepper_c,
            pepper_apply_p: neural augmentations (rates in Hz, before z-scoring; sleep rates
            are counts / 4 s, where the mouse script augments raw counts, so its noise_std
            in counts is 4 x larger here in Hz).
        threads: torch CPU threads while training (1 is fastest for these tiny
            matrices; see :func:`mtneuro.tasks.neural.train.compute_threads`).
        quiet: no progress bar.
    """

    #: Why a key given is not one of this config's (:func:`mtneuro.config.from_mapping`).
    KEY_HINTS: ClassVar[dict[str, str]] = {
        "seeds": "a neural run is one seed; several seeds are several runs, one per seed: "
                 "mtneuro.evaluate(seeds=[...]), a suite's seeds: or mtneuro neural --seeds"}

    data: str
    data_root: Path | None = None
    method: Method = "myow"
    encoder: str | None = None
    seed: int = field(default=0, metadata=a_seed())
    split: SplitName = "auto"
    folds: int = field(default=10, metadata=check(lambda v: v >= 3, "int >= 3"))
    guard: int | None = field(default=None, metadata=_nonneg_int)
    steps: int | None = field(default=None, metadata=positive())
    epochs: int | None = field(default=None, metadata=positive())
    select_every: int = field(default=100, metadata=_nonneg_int)
    refit: bool = True
    refit_ensemble: bool = True
    batch_size: int = field(default=512, metadata=positive())
    lr: float | None = field(default=None, metadata=positive("float"))
    weight_decay: float = field(default=2e-5, metadata=_nonneg)
    warmup_steps: int | None = field(default=None, metadata=_nonneg_int)
    lr_schedule: Schedule = "constant"
    ema_start: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    ema_schedule: Schedule = "constant"
    hidden: tuple[int, ...] = field(default=(64, 64, 64), metadata=check(
        lambda v: len(v) > 0 and all(w > 0 for w in v), "a list of widths, each int >= 1"))
    rep_dim: int | None = field(default=None, metadata=positive())
    head_hidden: int = field(default=256, metadata=positive())
    mined_dim: int = field(default=32, metadata=positive())
    mined_weight: float = field(default=0.5, metadata=in_unit_interval(closed_right=True))
    mined_warmup_steps: int | None = field(default=None, metadata=_nonneg_int)
    mined_start: float | None = field(default=None, metadata=check(lambda v: 0 <= v < 1, "float in [0, 1)"))
    knn_k: int = field(default=5, metadata=positive())
    mine_exclude: str | None = field(default=None, metadata=check(
        lambda v: v == "trial" or (v.isascii() and v.isdigit()), "'trial' or a number of bins"))
    pos_window: int | None = field(default=None, metadata=_nonneg_int)
    dropout_p: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    dropout_apply_p: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    noise_std: float | None = field(default=None, metadata=_nonneg)
    noise_apply_p: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    pepper_p: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    pepper_c: float | None = field(default=None, metadata=_nonneg)
    pepper_apply_p: float | None = field(default=None, metadata=in_unit_interval(closed_right=True))
    threads: int = field(default=1, metadata=positive())
    quiet: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()  # the field values first: the split check reads ``data``
        # a split the recording cannot take fails here, where a bench dry run sees it, when
        # the kind follows from the name (a catalogued recording, a .npz / .npy file)
        from mtneuro.data.neural import catalogued_name, recording_kind

        kind = recording_kind(self.data)
        if kind is not None and self.split != "auto":
            # a user's .npz is reach or classes by its kind array, unread here: same splits
            user_npz = kind == "reach" and catalogued_name(self.data) is None
            check_split(self.split, kind, "reach or classes" if user_npz else None)
        if self.encoder is not None and self.method != ENCODER_METHOD:
            raise ConfigError(f"encoder: read out by method {ENCODER_METHOD!r} only, not by "
                              f"method {self.method!r}; set method: {ENCODER_METHOD} (the "
                              "CLI's --encoder does) or leave encoder out")


def check_split(split: str, kind: str, named: str | None = None) -> None:
    """``split`` is one a ``kind`` recording takes (:data:`SPLITS_BY_KIND`); ``named``: how
    the error names the kind, where it is not known for sure.

    Raises:
        ConfigError: naming the key, the value and the splits of that kind.
    """
    if split not in SPLITS_BY_KIND[kind]:
        raise ConfigError(f"split: expected one of {', '.join(SPLITS_BY_KIND[kind])} for a "
                          f"{named or kind} recording, got {split!r}")


#: Per-kind defaults for the ``None`` fields: the MYOW reference setups (monkey:
#: ``train_monkey.py``; mouse: ``train_mouse.py``) for widths, augmentations, the
#: positives' reach, mining and EMA, except where docs/neural.md measured otherwise on
#: development folds (train/validation trials of chewie-1, its bin0.05 / vel0
#: variants and mouse CA1; never a test split, never chewie-2 or mihi-1), and except
#: the mouse EMA and mined size below. Every departure from the reference script is a
#: line of the run's protocol card (:mod:`mtneuro.tasks.neural_protocol`):
#:
#: - training length is chosen inside each run (``select_every``): up to ``steps``
#:   steps, the checkpoint with the best validation readout is kept. Validation
#:   curves are flat after ~500 steps on chewie-1 but MYOW still rises at 800-1000
#:   on chewie-1-vel0, so reach trains up to 1,000 steps (mouse CA1: 1,500, flat
#:   after ~450). The reference runs 10,000 steps at lr 2e-4; AdamW at 2e-3 (the
#:   reference notebook's value) reaches the same plateau (lr 1e-3: same curve).
#: - MYOW mines only after 30% of its steps as BYOL (``mined_start``: 300 of 1,000),
#:   ramping its weight over 100 steps, as the older MYOW code's ``myow_warmup``: mining in a
#:   random representation slowed MYOW (validation accuracy at step 600 on
#:   chewie-1-vel0 0.55, BYOL 0.59) and left its plateau 0.04 lower there; with
#:   the warm-up its plateau is 0.60-0.63, unchanged on chewie-1, bin0.05 and mouse.
#: - learning rate and EMA are constant after warm-up. Both reference scripts compute an
#:   lr warm-up and cosine but never set them on the optimiser (``:177``), and
#:   train_monkey.py's EMA is 0.98 throughout (its cosine is commented out, ``:159-161``);
#:   train_mouse.py, though, applies its cosine EMA every step, rising from 0.02 to 1
#:   (``:160-161,178,232``). The sleep default keeps the constant 0.98 of reach: it was
#:   not compared with the mouse schedule on development folds.
#: - the mouse setup also uses AdamW (the reference uses SGD with momentum 0.98), and
#:   ``mined_dim`` is 32 for both kinds, the monkey script's (the mouse script's is 16,
#:   train_mouse.py:45; not compared either).
KIND_DEFAULTS: dict[str, dict[str, object]] = {
    "reach": {
        "steps": 1000, "lr": 2e-3, "warmup_steps": 50, "ema_start": 0.98, "rep_dim": 64,
        "mined_warmup_steps": 100, "mined_start": 0.3, "pos_window": 2, "dropout_p": 0.2,
        "dropout_apply_p": 1.0, "noise_std": 1.5, "noise_apply_p": 0.5, "pepper_p": 0.3, "pepper_c": 1.5,
        "pepper_apply_p": 0.5, "mine_exclude": "trial",
    },
    "sleep": {
        "steps": 1500, "lr": 2e-3, "warmup_steps": 50, "ema_start": 0.98, "rep_dim": 32,
        "mined_warmup_steps": 100, "mined_start": 0.3, "pos_window": 3, "dropout_p": 0.8,
        "dropout_apply_p": 0.9, "noise_std": 0.0, "noise_apply_p": 0.0, "pepper_p": 0.0, "pepper_c": 0.0,
        "pepper_apply_p": 0.0, "mine_exclude": "150",
    },
}
#: A classes recording is laid out as a reach one (bins in trials) and trains as one: its
#: defaults were not tuned on any classes recording.
KIND_DEFAULTS["classes"] = dict(KIND_DEFAULTS["reach"])


def resolve(config: NeuralConfig, kind: str) -> NeuralConfig:
    """``config`` with every ``None`` training field set to the default of ``kind``, and a
    ``None`` guard to the positive window (the given one, else the kind's): a temporal
    positive is never taken across the gap between training and held-out bins."""
    defaults = KIND_DEFAULTS[kind]
    if kind == "sleep" and config.method == "myow" and config.mine_exclude == "trial":
        raise ConfigError("mine_exclude: 'trial' excludes every bin of a sleep recording (one "
                          f"long trial), so MYOW could mine nothing; expected a number of bins "
                          f"(the sleep default is {defaults['mine_exclude']}), got 'trial'")
    filled = {k: v for k, v in defaults.items() if getattr(config, k) is None}
    if config.guard is None:
        filled["guard"] = filled.get("pos_window", config.pos_window)
    split = config.split
    if split == "auto":
        split = SPLITS_BY_KIND[kind][0]
    return dataclasses.replace(config, split=split, **filled)
