"""Bench adapter of neural decoding (:func:`mtneuro.tasks.neural.fit_neural`, MYOW protocols).

Settings are recording names (``chewie-1``, ``chewie-2``, ``mouse-ca1``, ... of
:data:`mtneuro.data.neural.RECORDINGS`, i.e. the catalogue) or paths; methods are
``myow``, ``byol``, ``supervised``, ``pca``, ``raw``; ``params`` override
:class:`~mtneuro.tasks.neural.NeuralConfig` fields. Preset ``quick`` caps training
at :data:`QUICK_STEPS` optimiser steps (unless ``params`` set ``steps``/``epochs``);
no preset keeps the task's defaults. A named recording that is not downloaded here
skips its cell (:class:`~mtneuro.bench.cell.CellSkipped`) with the command that gets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.bench.cell import CellSkipped
from mtneuro.bench.suite import Cell
from mtneuro.errors import ConfigError

QUICK_STEPS = 400


def build_config(cell: Cell) -> Any:
    from mtneuro.config import from_mapping
    from mtneuro.tasks.neural import NeuralConfig

    if cell.preset not in (None, "quick"):
        raise ConfigError(f"neural preset: expected 'quick' or none, got {cell.preset!r}")
    params = dict(cell.params)
    if cell.preset == "quick" and "steps" not in params and "epochs" not in params:
        params["steps"] = QUICK_STEPS
    return from_mapping(NeuralConfig, {**params, "data": cell.setting, "method": cell.method,
                                       "seed": cell.seed, "quiet": True})


def run(config: Any) -> dict[str, Any]:
    from mtneuro.data.neural import RECORDINGS, missing_recording_message, recording_paths
    from mtneuro.tasks.neural import fit_neural

    if config.data in RECORDINGS and recording_paths(config.data, config.data_root) is None:
        raise CellSkipped(missing_recording_message(config.data, config.data_root))
    outcome = fit_neural(config)
    rec = outcome.recording
    source = {"source": rec.name, "label": f"real recording {rec.name}", "files": dict(rec.files)}
    return {"metrics": outcome.metrics, "source": source, "outcome": outcome}


def headline(result: dict[str, Any]) -> dict[str, float]:
    metrics = result["metrics"]
    keys = ("accuracy", "delta_accuracy") if result["outcome"].recording.kind == "reach" else (
        "accuracy", "f1_weighted")
    return {k: metrics[k] for k in keys if k in metrics}


def plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    from mtneuro.report.plots_neural import (
        plot_decoding_confusion,
        plot_learning_curve,
        plot_representation_2d,
    )

    outcome = result["outcome"]
    names = outcome.recording.class_names
    title = f"{outcome.config.method} on {outcome.recording.name}"
    out_dir = Path(out_dir)
    paths = [plot_decoding_confusion(outcome.test_pred, outcome.test_label, names, out_dir / "confusion.png",
                                     title=title),
             plot_representation_2d(outcome.test_features, outcome.feature_label, names,
                                    out_dir / "representation.png", title=f"{title}: test bins")]
    if outcome.curve:
        paths.append(plot_learning_curve(outcome.curve, out_dir / "learning_curve.png", title=title,
                                         selection=outcome.selection,
                                         selected_step=outcome.kept_step))
    return paths
