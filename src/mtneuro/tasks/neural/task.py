"""Neural decoding (MYOW protocols) in the task contract (:mod:`mtneuro.tasks.api`).

Settings are recording names (``chewie-1``, ``mouse-ca1``, ... of
:data:`mtneuro.data.neural.RECORDINGS`); methods ``myow``, ``byol``, ``supervised``,
``pca``, ``raw``, and ``encoder``: a user encoder (in memory, or the spec of the config's
``encoder``) mapping ``(N, neurons)`` rates
z-scored with the learning bins' statistics (training bins; with the default refit,
training + validation bins for the final readout; neurons constant in them are 0)
to ``(N, D)``, frozen and read out like ``raw``. One run is one recording and one seed
(:func:`~mtneuro.tasks.neural.run.fit_neural`). Preset ``quick`` caps training at
:data:`QUICK_STEPS` optimiser steps unless ``steps`` or ``epochs`` are given (methods
that train nothing are left as they are). Headline:
``accuracy`` and ``delta_accuracy`` (reach), ``accuracy`` and ``f1_weighted`` (sleep) or
``accuracy`` and ``f1_macro`` (a user's classes, :mod:`mtneuro.data.neural_classes`).
A catalogued recording that is not downloaded here raises
:class:`~mtneuro.tasks.api.RunSkipped` naming the command that gets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro.data.neural import RECORDINGS, is_binned
from mtneuro.errors import ConfigError
from mtneuro.tasks.api import Result, RunSkipped, Task
from mtneuro.tasks.neural.config import QUICK_STEPS
from mtneuro.vocab import ENCODER_METHOD, NEURAL_METHODS, NEURAL_UNTRAINED_METHODS, TASK_TITLES


def quick_preset(given: Mapping[str, Any]) -> dict[str, Any]:
    # a command's unset --steps / --epochs arrive as None: no length chosen
    chosen = any(given.get(key) is not None for key in ("steps", "epochs"))
    trains = given.get("method") not in (*NEURAL_UNTRAINED_METHODS, ENCODER_METHOD)
    return {"steps": QUICK_STEPS} if trains and not chosen else {}


def score_keys(metrics: Mapping[str, Any]) -> tuple[str, str]:
    """The two headline metrics of a run of this recording kind."""
    second = {"reach": "delta_accuracy", "classes": "f1_macro"}.get(metrics.get("kind"),
                                                                    "f1_weighted")
    return ("accuracy", second)


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: metrics[k] for k in score_keys(metrics) if k in metrics}


def seed_metrics(metrics: Mapping[str, Any], row: Mapping[str, Any]) -> Mapping[str, Any]:
    """One seed of a multi-seed run's metrics: its ``per_seed`` row, which is that seed's
    own run's metrics (the aggregate's ``accuracy`` is the plain mean over seeds)."""
    return row


def cell_fields(setting: str, method: str, seed: int) -> dict[str, Any]:
    return {"data": setting, "method": method, "seed": seed}


def card(config: Any, source: Any = None) -> dict[str, Any]:
    from mtneuro.tasks.protocol import neural_card

    return neural_card(config, source)


def source_of(recording: Any) -> dict[str, Any]:
    """Provenance of a recording for ``metrics.json``: its ``describe()`` and the
    leaderboard's data-source label: ``real recording NAME`` for a recording of the
    catalogue (its files at their catalogued place, checked against their SHA-256, however
    it was named), ``recording NAME (your file)`` for any other (nothing says it is real)."""
    return {"source": recording.name, "label": source_label(recording.name,
                                                            recording.catalogued),
            **recording.describe()}


def source_label(name: str, catalogued: bool) -> str:
    """The data-source label of recording ``name`` (see :func:`source_of`)."""
    return f"real recording {name}" if catalogued else f"recording {name} (your file)"


def missing_recording(config: Any) -> str | None:
    """The catalogued recording ``config`` reads that is not downloaded here (a run of it
    is skipped), else ``None``; nothing is loaded, so a bench dry run can ask too."""
    from mtneuro.data.neural import recording_paths

    name = getattr(config, "data", None)
    if (isinstance(name, str) and name in RECORDINGS and is_binned(name)
            and recording_paths(name, getattr(config, "data_root", None)) is None):
        return name
    return None


def own_recording(setting: str) -> str:
    """``setting`` if it is the path of a recording file of the user's (a reach or classes
    ``.npz``, a rodent ``.npy`` pair or its folder), which the task reads as it reads a
    catalogued one;
    else a :class:`~mtneuro.errors.ConfigError` naming the catalogued settings too."""
    from mtneuro.data.neural import locate_recording
    from mtneuro.errors import DataError
    from mtneuro.registry import unknown_name_message

    try:
        locate_recording(setting)
    except DataError as err:
        path = Path(setting).expanduser()
        # a name, not a path: the catalogue's names (and near misses) say it all
        why = f" ({err})" if path.exists() or path.suffix or len(path.parts) > 1 else ""
        names = unknown_name_message("neural setting", setting, list(NEURAL.settings))
        raise ConfigError(f"{names}; or the path of a recording file of yours (a reach or "
                          f"classes .npz, a rodent .npy pair){why}") from None
    return setting


def run(config: Any, *, encoder: Any = None) -> Result:
    """One recording, one seed (:func:`~mtneuro.tasks.neural.run.fit_neural`); with
    ``encoder`` (a module, else the spec ``config.encoder`` names), the readout of its
    frozen features.

    Raises:
        RunSkipped: ``config.data`` names a catalogued recording that is not downloaded.
    """
    from mtneuro.data.neural import missing_recording_message
    from mtneuro.tasks.neural.run import fit_neural

    if missing_recording(config) is not None:
        raise RunSkipped(missing_recording_message(config.data, config.data_root))
    if encoder is None and config.encoder is not None:
        encoder = rate_encoder(config.encoder)
    outcome = fit_neural(config, encoder=encoder)
    result = NEURAL.result(outcome.config, setting=outcome.recording.name,
                           method=outcome.metrics["method"], metrics=outcome.metrics,
                           source=source_of(outcome.recording), wall_s=outcome.metrics["wall_s"],
                           artefacts={"outcome": outcome,
                                      "predictions": prediction_columns(outcome)})
    # what only the run could know (a test class no readout can predict) goes with the
    # card's notes: the record, its report and the leaderboard show them, each once
    notes = result.card["notes"]
    notes += [line for line in outcome.notes if line not in notes]
    return result


def prediction_columns(outcome: Any) -> dict[str, Any]:
    """Each test bin's row of ``predictions.csv`` (:mod:`mtneuro.report.predictions`): its
    ``seed``, ``bin`` (index in the recording), ``trial``, ``timestep``, ``true`` and
    ``predicted`` class (names), and its ``accuracy`` hit (1 or 0; reach: angular error
    below pi/8), with reach's ``delta_accuracy`` hit and ``angular_error`` (radians): the
    means of the hit columns are the run's scores."""
    import numpy as np

    rec, bins = outcome.recording, outcome.test_bins
    names = np.asarray(rec.class_names)
    per_bin = outcome.test_per_bin
    hits = (per_bin["accuracy"] if "accuracy" in per_bin
            else outcome.test_label == outcome.test_pred)
    columns = {"seed": np.full(bins.size, outcome.metrics["seed"]), "bin": bins,
               "trial": outcome.test_trial, "timestep": rec.timestep[bins],
               "true": names[outcome.test_label], "predicted": names[outcome.test_pred],
               "accuracy": np.asarray(hits).astype(np.int64)}
    if "delta_accuracy" in per_bin:
        columns["delta_accuracy"] = np.asarray(per_bin["delta_accuracy"]).astype(np.int64)
    if "mean_angular_error" in per_bin:
        columns["angular_error"] = per_bin["mean_angular_error"]
    return columns


def rate_encoder(spec: str) -> Any:
    """The frozen encoder ``spec`` names, built under seed 0 as a record's fingerprint of it
    is (:func:`mtneuro.bench.cell.build_encoder`), so the weights that run are those recorded.

    Raises:
        ConfigError: it does not build (:func:`rate_encoder_error`).
    """
    from mtneuro.errors import ConfigError
    from mtneuro.models import resolve_encoder_at_seed

    try:
        return resolve_encoder_at_seed(spec)[0]
    except ConfigError as err:
        raise rate_encoder_error(spec, err) from None


def rate_encoder_error(spec: str, err: BaseException) -> BaseException:
    """``err``, the error building the encoder ``spec`` raised, with how a firing-rate
    encoder declares itself where ``spec`` is code (a ``module:callable`` or name, which
    is probed as an image encoder unless it declares otherwise)."""
    from mtneuro.errors import ConfigError

    if not isinstance(err, ConfigError) or Path(spec).is_file():
        return err
    return ConfigError(f"{err} (a firing-rate encoder built by module:callable declares an "
                       "integer out_dim, or input_spec = {'in_dim': NEURONS}; without them it "
                       "is probed as an image encoder)")


NEURAL = Task(
    name="neural",
    title=TASK_TITLES["neural"],
    config="mtneuro.tasks.neural.config:NeuralConfig",
    run=run,
    card=card,
    headline=headline,
    fields=cell_fields,
    settings=tuple(name for name in RECORDINGS if is_binned(name)),  # not raw MATLAB
    methods=(*NEURAL_METHODS, ENCODER_METHOD),
    presets={"quick": quick_preset},
    figures="mtneuro.report.task_figures:neural_figures",
    encoder="neural",
    encoder_method=ENCODER_METHOD,
    volume=False,
    seed_metrics=seed_metrics,
    own_setting=own_recording,
)
