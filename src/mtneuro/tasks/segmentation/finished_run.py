"""A finished task-2 run is not resumed.

``--resume`` finishes an interrupted run with the settings it started with. A run that has
finished holds its ``metrics.json``; resuming it with other settings would score it anew and
replace what it measured, so :func:`check_finished_run` refuses that, naming every changed
key, and with the same settings there is nothing to do (:class:`RunFinished`). Values the
run fills in itself (``dim`` from the model, a 3D ``depth`` of 8, the inference ``window`` =
the training crop) are compared as filled in, so leaving one out and giving the value it
stands for are the same setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro.config import ABSENT, changed_values
from mtneuro.data.tiles import DIMS
from mtneuro.errors import ConfigError, MtneuroError
from mtneuro.tasks.api import to_jsonable
from mtneuro.tasks.segmentation.config import Task2Config
from mtneuro.vocab import SEGMENTATION_MODEL_DIMS

#: Settings a resume of a finished run may change: where and how fast it computes, not what
#: it measures (the training checkpoint lets a resume change them too). The source is judged
#: by each checkpoint's record of the volume it describes, not by how its parameters are spelt.
RESUME_MAY_CHANGE = frozenset({"device", "quiet", "eval_batch_size", "train.retain_cpu_memory",
                               "train.checkpoint_every", "source", "source_params"})
#: Settings that change only how the trained models are scored.
SCORING_SETTINGS = frozenset({"test_z_step", "window", "overlap", "examples_per_region"})


def changed_settings(recorded: Mapping[str, Any],
                     now: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(key, recorded value, value now)`` of every setting but :data:`RESUME_MAY_CHANGE`
    (or a key inside one) that differs (nested keys dotted: ``train.lr``), in ``now``'s
    order; a key one side lacks (a record written before the key existed) is not judged."""
    return [(key, old, new) for key, old, new in changed_values(recorded, now, sort_keys=False)
            if old is not ABSENT and new is not ABSENT
            and not any(key == free or key.startswith(f"{free}.") for free in RESUME_MAY_CHANGE)]


def as_run(values: Mapping[str, Any]) -> dict[str, Any]:
    """Task-2 config values with those the run fills in filled in as it does: ``dim`` from
    the model, ``depth`` 1 in 2D and 8 in 3D, ``window`` the training crop."""
    out = dict(values)
    out["dim"] = out.get("dim") or SEGMENTATION_MODEL_DIMS.get(str(out.get("model")), "2d")
    if out.get("depth") is None:
        out["depth"] = DIMS.get(out["dim"])
    train = out.get("train")
    if out.get("window") is None and isinstance(train, Mapping):
        out["window"] = train.get("crop")
    return out


class RunFinished(MtneuroError):
    """The run a resume was asked to finish has finished, with these settings: there is
    nothing to do, and its record (timings included) stays as it is."""


def check_finished_run(config: Task2Config, workdir: Path) -> None:
    """Refuse to resume the finished run in ``workdir`` (it holds a task-2 ``metrics.json``):
    with other settings the resume would score it anew and replace what it measured; with
    the same, it would only score it again and replace the record of its training (train_s,
    the epoch it resumed from). A run stopped before its record goes on.

    Raises:
        ConfigError: other settings, naming every changed key with its recorded and its
            new value.
        RunFinished: the same settings (a command says so and exits 0).
    """
    try:
        record = json.loads((workdir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no finished run, or a record cut short by a crash
        return
    if not isinstance(record, dict) or record.get("task") != "task2" \
            or not isinstance(record.get("config"), dict):
        return
    changes = changed_settings(as_run(record["config"]), as_run(to_jsonable(config)))
    if not changes:
        raise RunFinished(
            f"{workdir} already holds this task2 run, finished (its metrics.json, with these "
            "settings); nothing to resume: its results are kept (add --overwrite instead of "
            "--resume to run it again)")
    listed = "; ".join(f"{key} was {old!r}, now {new!r}" for key, old, new in changes)
    rescore = (f" (to score its trained models under the new settings, copy "
               f"{workdir / 'checkpoints'} there and --resume)"
               if all(key in SCORING_SETTINGS for key, _, _ in changes) else "")
    raise ConfigError(
        f"--resume: {workdir} holds a finished task2 run with other settings ({listed}); a "
        f"resume finishes a run with the settings it started with and would replace its "
        f"metrics.json: give the recorded settings, or choose another --out for the new "
        f"ones{rescore}, or add --overwrite instead of --resume to replace the run")
