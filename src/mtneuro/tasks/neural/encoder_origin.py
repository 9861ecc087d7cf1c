"""Where an encoder read out by a neural run was trained, against the bins that run tests.

An ``encoder.pt`` of ``mtneuro neural`` records the recording, split and seed it was trained
with. Read back on the same recording (``--encoder``), it has seen that split's training
(and, with the refit, validation) bins: scored on the same deterministic split, its test bins
are unseen; scored on another split (``kfold``, whose folds test every trial, or ``random``),
some test bins were in its training, so the scores can be optimistic. The protocol card says
which: a note in the first case, a deviation in the second.

A run with the refit ensemble (the default) scores the features of both encoders it saves,
``encoder_first_pass.pt`` and ``encoder.pt``: either read back scores one encoder, so its
numbers differ from the run's; the card says so (:data:`ENSEMBLE_MEMBER_NOTE`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Splits whose test bins follow from the recording alone (not from the seed or a fold).
FIXED_SPLITS = ("trial", "block")
#: The card note of an encoder read back from a run that read out two (the command prints it
#: under its result line too).
ENSEMBLE_MEMBER_NOTE = (
    "this encoder is read back alone: the mtneuro neural run that saved it scored the "
    "features of both its encoders (encoder_first_pass.pt beside encoder.pt, the refit "
    "ensemble, docs/neural.md), so scores of this one encoder differ from that run's")


def encoder_origin(config: Any, split: str, source: dict[str, Any] | None
                   ) -> tuple[list[str], list[str]]:
    """(deviations, notes) of a method-``encoder`` run reading ``config.encoder`` on the
    ``split`` split of the recording ``source`` describes (its ``describe()``: name and
    files' SHA-256; ``None`` before the data are read: the run's card then says it)."""
    from mtneuro.models.checkpoint import checkpoint_meta

    spec = getattr(config, "encoder", None)
    meta = checkpoint_meta(spec)
    if meta is None or meta.get("task") != "neural":
        return [], []
    deviations, notes = _origin(meta, split, source)
    return deviations, notes + ([ENSEMBLE_MEMBER_NOTE] if _ensemble_member(spec, meta) else [])


def _ensemble_member(path: str, meta: dict[str, Any]) -> bool:
    """Whether the checkpoint at ``path`` is one of the two encoders a refit-ensemble run
    read out together: recorded since the ``ensemble`` key exists, before that told by the
    other encoder's file beside it (only an ensemble run saves a first pass)."""
    if "ensemble" in meta:
        return bool(meta["ensemble"])
    return meta.get("stage") == "first pass" or (
        meta.get("stage") == "retrained"
        and Path(path).with_name("encoder_first_pass.pt").is_file())


def _origin(meta: dict[str, Any], split: str, source: dict[str, Any] | None
            ) -> tuple[list[str], list[str]]:
    """:func:`encoder_origin` of a neural run's checkpoint ``meta``, as to its test bins."""
    trained = (f"{meta.get('method', '?')}, seed {meta.get('seed', '?')}, "
               f"{meta.get('split') or 'split not recorded'} split"
               + (f", {meta['fold']} fold" if meta.get("fold") else ""))
    if source is None or not _same_recording(meta, source):
        return [], [f"encoder trained by mtneuro neural on recording "
                    f"{meta.get('recording', '?')} ({trained})"]
    bins = "training + validation" if meta.get("refit") else "training"
    if meta.get("split") == split and split in FIXED_SPLITS and not meta.get("fold"):
        return [], [f"encoder trained on this recording ({trained}): on its {bins} bins, "
                    "not on the test bins scored here"]
    return [f"encoder trained on this recording ({trained}), scored here on the {split} split, "
            "whose test bins it may have trained on: its scores can be optimistic (read it "
            "on the split it was trained with, or on another recording)"], []


def _same_recording(meta: dict[str, Any], source: dict[str, Any]) -> bool:
    """By the files' SHA-256 where the checkpoint recorded them (a recording read by name
    and by path has two names), else by name."""
    files = source.get("files") if isinstance(source.get("files"), dict) else {}
    if meta.get("recording_sha256") and files:
        return sorted(meta["recording_sha256"]) == sorted(files.values())
    return meta.get("recording") == source.get("name")
