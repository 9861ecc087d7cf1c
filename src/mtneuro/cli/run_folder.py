"""The output folder of a command that writes a run: checked before any work, never
overwritten by accident.

A folder *holds a run* when it has one of the records the command writes there
(:data:`RUN_RECORDS`; a record folder counts once a file is in it). Without ``--resume``
such a folder is refused in one line naming ``--resume`` (where the command can resume)
and ``--overwrite``; ``--overwrite`` removes those records, and only those, before the
run starts; ``--resume`` needs something to resume (:data:`RESUMABLE`). Every check
happens before data is loaded and before anything is written.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tempfile
from pathlib import Path

from mtneuro.errors import ConfigError
from mtneuro.report.run_records import REPORT

#: command kind -> the records (glob patterns, relative to OUT) its runs write.
RUN_RECORDS: dict[str, tuple[str, ...]] = {
    "pretrain": ("checkpoint.pt", "train_log.jsonl", "encoder.pt", "metrics.json"),
    "task": ("metrics.json", *REPORT),
    "resumable-task": ("metrics.json", "checkpoints", *REPORT),
    "neural": ("metrics.json", "encoder.pt", "encoder_first_pass.pt", "seed-*", *REPORT),
    "bench": ("cells", *REPORT, "submitit", "suite_cells.json"),
}
#: command kind -> what ``--resume`` continues from (kinds that cannot resume are absent).
RESUMABLE: dict[str, str] = {
    "pretrain": "checkpoint.pt",
    "resumable-task": "checkpoints/seed*.pt",  # task2
    "bench": "cells",  # a suite stopped before its first cell ended resumes too
}


def check_writable_folder(out: str | Path, option: str = "--out") -> Path:
    """``out`` is a folder, or can be made one, in a place this process may write to.

    Nothing is created: the nearest existing ancestor is probed with an anonymous
    temporary file (gone when closed).

    Raises:
        ConfigError: ``out`` (or an ancestor) is a file, or the place is not writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {out}: is a file; expected a folder (choose another {option})")
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{option} {out}: {existing} is a file, so the folder cannot be made "
                          f"there (choose another {option})")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(f"{option} {out}: cannot write in {existing} ({err.strerror or err}); "
                          f"choose another {option}") from None
    return out


def run_records(out: Path, kind: str) -> list[Path]:
    """The records of a ``kind`` run that ``out`` already holds (a folder without a file
    in it, as a run interrupted before its first seed ended leaves, holds nothing to lose)."""
    if not out.is_dir():
        return []
    found = {p for pattern in RUN_RECORDS[kind] for p in out.glob(pattern)}
    return sorted(p for p in found if not p.is_dir() or _holds_a_file(p))


#: a temporary file of :func:`mtneuro.atomic.write_atomic`: ``.<target>.<8 random>.tmp``
_TORN_WRITE = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def _remove_torn_writes(out: Path, kind: str) -> None:
    """Delete the temporary files that writes of a ``kind`` run's records, killed mid-way,
    left in ``out`` (a killed process cannot remove them; a task-2 checkpoint's is hundreds
    of MB). Called before a run that continues, replaces or starts the folder's run; only
    temporary files of the run's own records (top level or inside a record folder) go."""
    if os.environ.get("RANK", "0") != "0":
        return
    patterns = RUN_RECORDS[kind]
    for path in out.rglob(".*.tmp"):
        torn = _TORN_WRITE.match(path.name)
        if torn is None or not path.is_file() or path.is_symlink():
            continue
        parts = path.relative_to(out).parts
        name = torn["target"] if len(parts) == 1 else parts[0]
        if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            path.unlink(missing_ok=True)


def _resumable(out: Path, kind: str) -> bool:
    """``out`` holds what a ``kind`` run resumes from (:data:`RESUMABLE`); a folder named
    like a checkpoint is none (a resume would start over, then fail to write it)."""
    pattern = RESUMABLE.get(kind)
    return pattern is not None and any(
        p.is_file() or (p.is_dir() and kind == "bench") for p in out.glob(pattern))


#: command kind -> the ``task`` its ``metrics.json`` records (kinds not listed: any task)
_RECORDED_TASKS: dict[str, tuple[str, ...]] = {
    "pretrain": ("pretrain",), "resumable-task": ("task2",), "neural": ("neural",),
    "task": ("task1", "task3"), "bench": (),
}


def _other_commands_run(out: Path, kind: str) -> str | None:
    """``"a task2 run"`` when ``out/metrics.json`` records a task that no ``kind`` command
    writes, else ``None`` (no record, or one that cannot be read)."""
    from mtneuro.report.results import read_json_object

    task = (read_json_object(out / "metrics.json") or {}).get("task")
    if not isinstance(task, str) or task in _RECORDED_TASKS.get(kind, (task,)):
        return None
    return f"a {task} run"


def _holds_a_file(folder: Path) -> bool:
    return any(not p.is_dir() for p in folder.rglob("*"))


def prepare_run_folder(out: str | Path, kind: str, *, resume: bool = False,
                       overwrite: bool = False, dry_run: bool = False,
                       option: str = "--out") -> Path:
    """Check ``out`` for a ``kind`` run (see the module docstring); with ``overwrite``
    remove the records of the run it holds (unless ``dry_run``, or in a ``torchrun``
    process other than rank 0).

    Raises:
        ConfigError: one line: a file or unwritable place, a run there without
            ``--resume`` / ``--overwrite``, or ``--resume`` with nothing to resume.
    """
    out = check_writable_folder(out, option)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite: choose one")
    if resume:
        pattern = RESUMABLE.get(kind)
        if pattern is None:
            raise ConfigError("--resume: this command keeps no checkpoints to resume from")
        if not _resumable(out, kind):
            other = _other_commands_run(out, kind)
            how = (f"it holds {other}; choose another {option} (--overwrite would delete it)"
                   if other else "drop --resume and add --overwrite to start afresh"
                   if run_records(out, kind) else "drop --resume to start a new run")
            raise ConfigError(f"--resume: {out} holds no run to resume (no {pattern}); {how}")
        if not dry_run:
            _remove_torn_writes(out, kind)
        return out
    held = run_records(out, kind)
    if not held:
        if not dry_run and out.is_dir():  # a run killed while writing its first record
            _remove_torn_writes(out, kind)
        return out
    if not overwrite:
        names = ", ".join(p.name for p in held[:3]) + (", ..." if len(held) > 3 else "")
        other = _other_commands_run(out, kind)
        if other:  # --resume would be refused, and --overwrite deletes another command's results
            raise ConfigError(f"{option} {out} already holds {other} ({names}); choose another "
                              f"{option}, or add --overwrite to delete it")
        how = "add --resume to continue it, " if _resumable(out, kind) else ""
        raise ConfigError(f"{option} {out} already holds a run ({names}); {how}"
                          f"add --overwrite to replace it, or choose another {option}")
    if not dry_run and os.environ.get("RANK", "0") == "0":
        _remove_torn_writes(out, kind)
        for path in held:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    return out
