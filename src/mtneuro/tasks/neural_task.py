"""Neural decoding (MYOW protocols) in the task contract (:mod:`mtneuro.tasks.api`).

A wrapper of the neural Python API (:func:`mtneuro.tasks.neural.fit_neural`) until
neural decoding joins the contract natively (issue 16b). Settings are recording names
(``chewie-1``, ``mouse-ca1``, ... of :data:`mtneuro.data.neural.RECORDINGS`); methods
``myow``, ``byol``, ``supervised``, ``pca``, ``raw``, and ``encoder``: a user encoder
in memory mapping ``(N, neurons)`` rates z-scored with the training bins' statistics
(neurons silent in every training bin are 0) to ``(N, D)``, read out like ``raw``.
Preset ``quick`` caps training at :data:`QUICK_STEPS` optimiser steps unless ``steps``
or ``epochs`` are given. Headline: ``accuracy`` and ``delta_accuracy`` (reach) or
``f1_weighted`` (sleep).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from mtneuro.data.neural import RECORDINGS
from mtneuro.tasks.api import Result, Task
from mtneuro.vocab import ENCODER_METHOD, NEURAL_METHODS, TASK_TITLES

QUICK_STEPS = 400


def quick_preset(given: Mapping[str, Any]) -> dict[str, Any]:
    return {} if "steps" in given or "epochs" in given else {"steps": QUICK_STEPS}


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    keys = ("accuracy", "delta_accuracy") if metrics.get("kind") == "reach" else (
        "accuracy", "f1_weighted")
    return {k: metrics[k] for k in keys if k in metrics}


def cell_fields(setting: str, method: str, seed: int) -> dict[str, Any]:
    # a user encoder's features are read out as the raw rates are
    return {"data": setting, "method": "raw" if method == ENCODER_METHOD else method,
            "seed": seed}


def card(config: Any, source: Any = None) -> dict[str, Any]:
    from mtneuro.tasks.protocol import neural_card

    return neural_card(config)


def run(config: Any, *, encoder: Any = None) -> Result:
    """One recording, one seed: :func:`~mtneuro.tasks.neural.fit_neural`, or the readout of
    ``encoder``'s features (method ``encoder``)."""
    from mtneuro.tasks.neural import fit_neural

    if encoder is not None:
        return _encoder_run(config, encoder)
    outcome = fit_neural(config)
    rec = outcome.recording
    return NEURAL.result(
        outcome.config, setting=rec.name, method=config.method, metrics=outcome.metrics,
        source=_source(rec), wall_s=outcome.metrics.get("wall_s"),
        artefacts={"test_pred": outcome.test_pred, "test_label": outcome.test_label,
                   "test_features": outcome.test_features,
                   "feature_label": outcome.feature_label, "curve": outcome.curve,
                   "class_names": rec.class_names})


def _source(rec: Any) -> dict[str, Any]:
    return {"source": rec.name, "label": f"real recording {rec.name}", "files": dict(rec.files)}


def _encoder_run(config: Any, encoder: Any) -> Result:
    """The readout of ``encoder``'s features on every split of the config (issue 16b moves
    this into the neural package)."""
    import torch

    from mtneuro.config import validate
    from mtneuro.data.neural import load_recording
    from mtneuro.tasks.neural.config import resolve
    from mtneuro.tasks.neural.run import _intervals, _pool, _readout, _split_label, make_splits

    start = time.perf_counter()
    config = validate(config)
    rec = load_recording(config.data, config.data_root)
    config = resolve(config, rec.kind)
    folds = make_splits(rec, config)
    encoder.eval()
    labels, preds, fold_metrics, per_bins, trials = [], [], [], [], []
    for split in folds:
        train = split["train"]
        mean, std = rec.rates[train].mean(axis=0), rec.rates[train].std(axis=0)
        z = np.where(std > 0, (rec.rates - mean) / np.where(std > 0, std, 1.0), 0.0)
        with torch.no_grad():
            features = encoder(torch.from_numpy(z.astype(np.float32))).float().numpy()
        metrics, pred, per_bin = _readout(rec, features, split)
        per_bins.append(per_bin)
        trials.append(rec.trial[split["test"]])
        fold_metrics.append(metrics)
        labels.append(rec.label[split["test"]])
        preds.append(pred)
    test_label, test_pred = np.concatenate(labels), np.concatenate(preds)
    metrics = _pool(rec, folds, fold_metrics, test_label, test_pred)
    metrics["intervals"] = _intervals(rec, test_label, test_pred, per_bins, np.concatenate(trials))
    metrics.update(method=ENCODER_METHOD, seed=config.seed, recording=rec.name, kind=rec.kind,
                   split=config.split, split_label=_split_label(config.split),
                   n_test=int(test_label.size), n_folds=len(folds),
                   wall_s=time.perf_counter() - start)
    return NEURAL.result(
        config, setting=rec.name, method=ENCODER_METHOD, metrics=metrics, source=_source(rec),
        wall_s=metrics["wall_s"],
        artefacts={"test_pred": test_pred, "test_label": test_label, "curve": [],
                   "test_features": features[folds[-1]["test"]],
                   "feature_label": rec.label[folds[-1]["test"]],
                   "class_names": rec.class_names})


NEURAL = Task(
    name="neural",
    title=TASK_TITLES["neural"],
    config="mtneuro.tasks.neural.config:NeuralConfig",
    run=run,
    card=card,
    headline=headline,
    fields=cell_fields,
    settings=tuple(RECORDINGS),
    methods=(*NEURAL_METHODS, ENCODER_METHOD),
    presets={"quick": quick_preset},
    figures="mtneuro.report.task_figures:neural_figures",
    encoder="neural",
    encoder_method=ENCODER_METHOD,
    volume=False,
)
