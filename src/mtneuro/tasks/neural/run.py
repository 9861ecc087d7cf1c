"""One neural-decoding run: load, split, learn features, linear readout, metrics.

:func:`fit_neural` is the run behind ``mtneuro neural``, the bench's neural cells and
``mtneuro.evaluate`` (through :data:`mtneuro.tasks.neural.task.NEURAL`): the metrics plus
what plots and checkpoints need (encoder, learning curve, test features and predictions).

>>> metrics = fit_neural(NeuralConfig(data="chewie-1", method="raw")).metrics   # doctest: +SKIP
>>> sorted(k for k in metrics if "acc" in k)                                    # doctest: +SKIP
['accuracy', 'delta_accuracy', ...]
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import torch
from torch import nn

from mtneuro.config import validate
from mtneuro.data.neural import NeuralRecording, load_recording
from mtneuro.errors import ConfigError
from mtneuro.ssl.augment.neural import NeuralAugment
from mtneuro.tasks.neural import splits as S
from mtneuro.tasks.neural.baselines import pca_features, train_supervised
from mtneuro.tasks.neural.config import NeuralConfig, check_split, resolve
from mtneuro.tasks.neural.encoder_origin import encoder_origin
from mtneuro.tasks.neural.frozen import encoder_features
from mtneuro.tasks.neural.majority import majority_baseline
from mtneuro.tasks.neural.metrics import (
    ACC_TOL,
    DELTA_ACC_TOL,
    angular_error,
    class_scores,
    metric_intervals,
    nearest_direction,
    reach_accuracy,
)
from mtneuro.tasks.neural.readouts import (
    PENALTY_GRID,
    AngleReadout,
    StateReadout,
    fit_angle_readout,
    fit_state_readout,
)
from mtneuro.tasks.neural.select import ValidationMonitor, reach_scorer, sleep_scorer
from mtneuro.tasks.neural.split_fit import check_decodable, check_trial_count
from mtneuro.tasks.neural.train import (
    TrainResult,
    ViewSampler,
    compute_threads,
    member_seed,
    mined_start_step,
    total_steps,
    train_ssl,
)
from mtneuro.tasks.neural.unseen import unseen_class_warning
from mtneuro.tasks.neural.unused import unused_settings
from mtneuro.tasks.neural.zscore import checked_zscores, learning_statistics, varying
from mtneuro.vocab import ENCODER_METHOD


@dataclasses.dataclass
class NeuralOutcome:
    """Everything one run produced.

    Attributes:
        metrics: plain numbers (see :func:`fit_neural`).
        config: the resolved config.
        recording: the loaded recording.
        encoder, encoder_kwargs, input_spec: the trained encoder (None for raw/PCA).
        first_pass: with ``refit_ensemble``, the first pass's ``(encoder, encoder_kwargs,
            input_spec)`` (its neurons may differ: those live in the training bins),
            whose features the readout reads beside ``encoder``'s (in that order);
            None otherwise.
        curve: learning curve rows (empty for raw/PCA).
        selection: validation score of each checkpoint of the last fold (``step``,
            metrics; empty for raw/PCA or without selection).
        kept_step: the checkpoint kept in the last fold (None without selection).
        test_label: (n_test,) true class; test_pred: (n_test,) predicted class
            (nearest of the 8 directions for reach), pooled over folds.
        test_trial: (n_test,) trial of each test bin (sleep: 0), in the same order.
        test_bins: (n_test,) index of each test bin in the recording, in the same order.
        test_per_bin: reach: each test bin's ``accuracy`` and ``delta_accuracy`` hit and
            ``mean_angular_error`` (n_test,), same order (whose means are the metrics;
            for paired comparisons of methods on the same bins); sleep: empty.
        test_features: (n, d) features of the last fold's test bins (feature size
            may differ between folds), with their classes ``feature_label`` (n,).
        notes: lines only the run could know, for its record's notes (a test class its
            readout never sees fitted, :func:`~mtneuro.tasks.neural.unseen.unseen_class_warning`).
    """

    metrics: dict
    config: NeuralConfig
    recording: NeuralRecording
    encoder: nn.Module | None
    encoder_kwargs: dict
    input_spec: dict
    curve: list[dict[str, float]]
    selection: list[dict[str, float]]
    kept_step: int | None
    test_label: np.ndarray
    test_pred: np.ndarray
    test_features: np.ndarray
    feature_label: np.ndarray
    first_pass: tuple[nn.Module, dict, dict] | None = None
    test_trial: np.ndarray | None = None
    test_per_bin: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    test_bins: np.ndarray | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


def make_splits(rec: NeuralRecording, config: NeuralConfig) -> list[S.Split]:
    """The split(s) of the config: one, or one per fold for ``kfold``."""
    check_split(config.split, rec.kind)  # a folder's kind is known only once it is read
    check_trial_count(rec, config)  # said with the file and the option, not the split's terms
    if config.split == "trial":
        return [S.trial_split(rec.trial)]
    if config.split == "kfold":
        return [S.trial_kfold(rec.trial, config.folds, f) for f in range(config.folds)]
    if config.split == "block":
        return [S.block_split(rec.n_bins, guard=int(config.guard))]
    return [S.random_split(rec.n_bins, seed=config.seed)]


def make_augment(rates: np.ndarray, config: NeuralConfig) -> NeuralAugment:
    """The config's augmentations, z-scoring with the statistics of ``rates`` (training bins, Hz;
    :func:`~mtneuro.tasks.neural.zscore.learning_statistics`)."""
    mean, std = learning_statistics(rates)
    return NeuralAugment(
        mean=mean, std=std,
        dropout_p=config.dropout_p, dropout_apply_p=config.dropout_apply_p,
        pepper_p=config.pepper_p, pepper_c=config.pepper_c, pepper_apply_p=config.pepper_apply_p,
        noise_std=config.noise_std, noise_apply_p=config.noise_apply_p,
    )


def validation_monitor(rec: NeuralRecording, split: S.Split, z: torch.Tensor, config: NeuralConfig
                       ) -> ValidationMonitor:
    """Validation monitor of a run, from its training and validation bins only (never test).

    Args:
        z: (bins, neurons) z-scored rates of the whole recording; only rows ``split["train"]``
            and ``split["val"]`` are kept.
        config: the resolved config; MYOW's checkpoints are eligible from the step at
            which its mined loss's ramp reaches full weight (the ramp's steps trained).
    """
    train, val = split["train"], split["val"]
    if rec.kind == "reach":
        scorer = reach_scorer(rec.angle[train], rec.angle[val])
    else:
        scorer = sleep_scorer(rec.label[train], rec.label[val])
    first = 0
    if config.method == "myow":
        steps = total_steps(config, len(train))
        first = min(steps, mined_start_step(config, steps) + int(config.mined_warmup_steps))
    return ValidationMonitor(z[train], z[val], scorer, first_step=first)


def learn_features(rec: NeuralRecording, split: S.Split, config: NeuralConfig, *,
                   refit: bool = False, stop_after: int | None = None
                   ) -> tuple[np.ndarray, TrainResult | None, dict, ValidationMonitor | None]:
    """Features of every bin (bins, d) for the config's method, learned without test bins.

    Neurons constant in every learning bin are dropped (they carry nothing and have no
    z-score); statistics come from the learning bins.

    - first pass: the learning bins are the training bins; trained methods keep the
      checkpoint with the best validation readout (:mod:`mtneuro.tasks.neural.select`)
      unless ``config.select_every`` is 0.
    - ``refit``: the learning bins are training + validation; a trained method is
      retrained from scratch on them with the same schedules, stopped after
      ``stop_after`` steps (the step the first pass chose), with no selection, and
      seeded with :func:`~mtneuro.tasks.neural.train.member_seed` ``(seed, 1)`` (the
      first pass: the run's seed), so that the refit ensemble's two encoders differ.

    Returns:
        ``(features, train_result or None, input_spec, monitor or None)``.
    """
    if refit and config.epochs is not None:  # same schedules: the first pass's step count
        config = dataclasses.replace(config, epochs=None,
                                     steps=total_steps(config, len(split["train"])))
    bins = S.learning_bins(split, refit)
    live = varying(rec.rates[bins])
    rates = rec.rates[:, live]
    augment = make_augment(rates[bins], config)
    all_rates = torch.from_numpy(rates)
    z = augment.normalize(all_rates)  # = zscore_rates(rates, bins): every kept neuron varies
    z = checked_zscores(z, augment.std, rec, np.flatnonzero(live))
    spec = {"neurons": int(live.sum()), "live_neurons": np.flatnonzero(live).tolist(),
            "recording_neurons": int(rec.rates.shape[1]), "mean": augment.mean.tolist(),
            "std": augment.std.tolist(), "units": "Hz, z-scored"}
    if config.method == "raw":
        return z.numpy(), None, spec, None
    if config.method == "pca":
        return pca_features(z.numpy(), bins, int(config.rep_dim)), None, spec, None
    sampler = ViewSampler.over_bins(rates, rec.trial, bins, augment, config)
    monitor = validation_monitor(rec, split, z, config) if config.select_every and not refit else None
    every = {"every": config.select_every if monitor is not None else 0, "on_checkpoint": monitor,
             "stop_after": stop_after}
    seed = member_seed(config.seed, int(refit))  # the ensemble's two encoders differ
    if config.method == "supervised":
        result = train_supervised(sampler, torch.from_numpy(rec.label[bins]), rec.kind, config,
                                  seed=seed, n_classes=len(rec.class_names), **every)
    else:
        result = train_ssl(config.method, sampler, config, seed=seed, progress=not config.quiet,
                           **every)
    if monitor is not None:
        monitor.restore(result.encoder)
    with torch.no_grad():
        features = result.encoder(z).numpy()
    return features, result, spec, monitor


def fit_readout(rec: NeuralRecording, features: np.ndarray, split: S.Split, *,
                penalty: float | None = None) -> AngleReadout | StateReadout:
    """The linear readout of ``features``.

    ``penalty`` None: fitted on the training bins, its penalty the best on validation.
    Given (a refit): fitted on training + validation bins with that penalty; its
    ``val_`` then scores bins it was fitted on, so callers keep the first pass's.
    """
    fit = S.learning_bins(split, refit=penalty is not None)
    grid = PENALTY_GRID if penalty is None else np.array([penalty])
    va = split["val"]
    if rec.kind == "reach":
        return fit_angle_readout(features[fit], rec.angle[fit], features[va], rec.angle[va], grid)
    return fit_state_readout(features[fit], rec.label[fit], features[va], rec.label[va], grid)


def score_test(rec: NeuralRecording, readout: AngleReadout | StateReadout, features: np.ndarray,
               test: np.ndarray) -> tuple[dict, np.ndarray, dict[str, np.ndarray]]:
    """(metrics, test predictions as classes, the per-bin values whose means are the reach
    metrics, for bootstrap intervals)."""
    if rec.kind == "reach":
        angle = rec.angle[test]
        pred_angle = readout.predict(features[test])
        error = angular_error(pred_angle, angle)
        per_bin = {"accuracy": error < ACC_TOL, "delta_accuracy": error < DELTA_ACC_TOL,
                   "mean_angular_error": error}
        return reach_accuracy(pred_angle, angle), nearest_direction(pred_angle), per_bin
    pred = readout.predict(features[test])
    return class_scores(rec.kind, rec.label[test], pred), pred, {}


def fit_neural(config: NeuralConfig, *, encoder: nn.Module | None = None) -> NeuralOutcome:
    """Run ``config`` (validated, kind defaults filled) and keep the artefacts.

    Args:
        encoder: a frozen user encoder ``(N, neurons) -> (N, D)`` whose features are read
            out instead of the config's method (:func:`encoder_features`); metrics then
            name the method ``encoder``.

    Returns:
        The outcome; its ``metrics``: ``method``, ``seed``, ``accuracy`` and
        ``delta_accuracy`` (reach) or ``f1_weighted`` (sleep; classes: and ``f1_macro``,
        :func:`~mtneuro.tasks.neural.metrics.class_scores`), ``n_train``, ``n_test``,
        ``wall_s`` (whole run), ``train_wall_s``, validation metrics, the chosen readout
        penalty, the split's name, ``steps``, ``selected_step`` and ``majority``: the
        scores of always predicting the most common training class
        (:func:`~mtneuro.tasks.neural.majority.majority_baseline`).

    Warns:
        UserWarning: a test class is absent from the bins the readout is fitted on
            (:func:`~mtneuro.tasks.neural.unseen.unseen_class_warning`, kept in the
            outcome's ``notes`` too); an encoder read out
            on a split whose test bins it may have trained on
            (:func:`~mtneuro.tasks.neural.encoder_origin.encoder_origin`).
    """
    config = validate(config)
    if encoder is not None:  # its record names what was read out
        config = dataclasses.replace(config, method=ENCODER_METHOD)
    elif config.method == ENCODER_METHOD:
        raise ConfigError("method 'encoder' reads out a user encoder's features: name one "
                          "(mtneuro neural --encoder SPEC, or encoder: in the config) or pass "
                          "one, e.g. mtneuro.evaluate(encoder, tasks=['neural/chewie-1'])")
    start = time.perf_counter()
    rec = load_recording(config.data, config.data_root)
    given, config = config, resolve(config, rec.kind)
    folds = make_splits(rec, config)
    for line in unused_settings(given, rec.kind, n_train=len(folds[0]["train"])):
        warnings.warn(line, stacklevel=2)
    if config.method == ENCODER_METHOD:  # said now, not only on the card: the scores mislead
        for line in encoder_origin(config, config.split, rec.describe())[0]:
            warnings.warn(line, UserWarning, stacklevel=2)
    labels, preds, fold_metrics, selected, per_bins, trials, positions = [], [], [], [], [], [], []
    result: TrainResult | None = None
    monitor: ValidationMonitor | None = None
    train_wall, steps = 0.0, 0
    first_pass: tuple[nn.Module, dict, dict] | None = None
    notes: list[str] = []  # said as the run goes, and kept in its record
    for fold, split in enumerate(folds):
        check_decodable(rec, split, config, fold)
        unseen = unseen_class_warning(rec, split, refit=config.refit,
                                      fold=(fold, len(folds)) if len(folds) > 1 else None)
        if unseen is not None:
            warnings.warn(unseen, UserWarning, stacklevel=2)
            notes.append(unseen)
        with compute_threads(config.threads):
            if encoder is not None:
                features, spec = encoder_features(rec, split, encoder)
            else:
                features, result, spec, monitor = learn_features(rec, split, config)
            readout = fit_readout(rec, features, split)
            if result is not None:
                train_wall += result.wall_s
                steps = result.steps
                selected.append(monitor.best_step if monitor is not None else result.steps)
            if config.refit and encoder is not None:  # z-scored from the refit's bins too
                features, spec = encoder_features(rec, split, encoder, refit=True)
            elif config.refit:
                trained = result is not None
                keep_first = trained and config.refit_ensemble
                first_pass = (result.encoder, result.encoder_kwargs, spec) if keep_first else None
                first_features = features
                features, result, spec, _ = learn_features(rec, split, config, refit=True,
                                                           stop_after=selected[-1] if trained else None)
                train_wall += result.wall_s if trained else 0.0
                if first_pass is not None:
                    features = np.concatenate([first_features, features], axis=1)
            if config.refit:
                # keep the first pass's validation scores: the refitted readout has seen those bins
                readout = dataclasses.replace(fit_readout(rec, features, split, penalty=readout.penalty_),
                                              val_=readout.val_)
        metrics, pred, per_bin = score_test(rec, readout, features, split["test"])
        metrics.update({f"val_{k}": v for k, v in readout.val_.items()}, penalty=readout.penalty_)
        per_bins.append(per_bin)
        trials.append(rec.trial[split["test"]])
        positions.append(split["test"])
        fold_metrics.append(metrics)
        labels.append(rec.label[split["test"]])
        preds.append(pred)
    test_label, test_pred, test_trial, test_bins = map(np.concatenate,
                                                       (labels, preds, trials, positions))
    test_per_bin = {key: np.concatenate([b[key] for b in per_bins]) for key in per_bins[0]}
    metrics = _pool(rec, folds, fold_metrics, test_label, test_pred)
    metrics["intervals"] = metric_intervals(rec, test_label, test_pred, test_per_bin, test_trial,
                                      test_bins)
    metrics["majority"] = majority_baseline(rec, folds)  # the chance reference of the scores
    metrics.update(
        method=config.method, seed=config.seed,
        recording=rec.name, kind=rec.kind, split=config.split,
        split_label=_split_label(config.split),
        # per fold (each fold trains on its own bins); test bins are pooled: each once
        n_train=_per_fold(folds, "train"), n_val=_per_fold(folds, "val"),
        n_test=int(test_label.size), n_folds=len(folds),
        steps=steps, refit=config.refit, refit_ensemble=first_pass is not None,
        selected_step=selected[0] if len(selected) == 1 else (selected or 0),
        train_wall_s=train_wall, wall_s=time.perf_counter() - start,
    )
    return NeuralOutcome(
        metrics=metrics, config=config, recording=rec,
        encoder=result.encoder if result is not None else None,
        encoder_kwargs=result.encoder_kwargs if result is not None else {},
        input_spec=spec, curve=result.curve if result is not None else [],
        selection=monitor.history if monitor is not None else [],
        kept_step=monitor.best_step if monitor is not None else None,
        test_label=test_label, test_pred=test_pred,
        test_features=features[folds[-1]["test"]], feature_label=rec.label[folds[-1]["test"]],
        first_pass=first_pass, test_trial=test_trial, test_per_bin=test_per_bin,
        test_bins=test_bins, notes=notes,
    )


def _pool(rec: NeuralRecording, folds: list, fold_metrics: list[dict], label: np.ndarray,
          pred: np.ndarray) -> dict:
    """One fold: its metrics. Several: metrics pooled over all test bins, plus per-fold lists."""
    if len(folds) == 1:
        return dict(fold_metrics[0])
    keys = [k for k in fold_metrics[0] if not k.startswith("val_") and k != "penalty"]
    sizes = np.array([len(s["test"]) for s in folds], dtype=np.float64)
    pooled = {k: float(np.average([m[k] for m in fold_metrics], weights=sizes)) for k in keys}
    if rec.kind != "reach":  # F1 of the pooled bins, not a mean of the folds' F1
        pooled.update(class_scores(rec.kind, label, pred))
    pooled["folds"] = [{k: m[k] for k in keys} for m in fold_metrics]
    return pooled


def _per_fold(folds: list, part: str) -> int:
    """Bins of ``part`` in one fold (the mean over folds, rounded; one split: its count)."""
    return round(sum(len(s[part]) for s in folds) / len(folds))


def _split_label(split: str) -> str:
    return {"trial": "trials in recorded order 80/10/10",
            "kfold": "k-fold over trials (recorded order), pooled test bins; n_train and "
                     "n_val per fold (mean over folds)",
            "block": "contiguous blocks 56/24/20 with guard gap",
            "random": "random bins 70/10/20 (not the reference's; temporal neighbours leak)",
            }[split]
