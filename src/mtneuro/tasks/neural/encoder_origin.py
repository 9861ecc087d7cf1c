"""Where an encoder read out by a neural run was trained, against the bins that run tests.

An ``encoder.pt`` of ``mtneuro neural`` records the recording, split and seed it was trained
with. Read back on the same recording (``--encoder``), it has seen that split's training
(and, with the refit, validation) bins: scored on the same deterministic split, its test bins
are unseen; scored on another split (``kfold``, whose folds test every trial, or ``random``),
some test bins were in its training, so the scores can be optimistic. The protocol card says
which: a note in the first case, a deviation in the second.
"""

from __future__ import annotations

from typing import Any

#: Splits whose test bins follow from the recording alone (not from the seed or a fold).
FIXED_SPLITS = ("trial", "block")


def encoder_origin(config: Any, split: str, source: dict[str, Any] | None
                   ) -> tuple[list[str], list[str]]:
    """(deviations, notes) of a method-``encoder`` run reading ``config.encoder`` on the
    ``split`` split of the recording ``source`` describes (its ``describe()``: name and
    files' SHA-256; ``None`` before the data are read: the run's card then says it)."""
    from mtneuro.models.checkpoint import checkpoint_meta

    meta = checkpoint_meta(getattr(config, "encoder", None))
    if meta is None or meta.get("task") != "neural":
        return [], []
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
