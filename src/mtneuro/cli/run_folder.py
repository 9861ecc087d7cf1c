"""The output folder of a command that writes a run: checked before any work, never
overwritten by accident.

A folder *holds a run* when it has one of the records the command writes there
(:data:`RUN_RECORDS`; a record folder counts once a file is in it). Without ``--resume``
such a folder is refused in one line naming ``--resume`` (where the command can resume)
and ``--overwrite``; ``--overwrite`` replaces those records, and only those (with the
figures the replaced ``metrics.json`` lists); ``--resume`` needs something to resume
(:data:`RESUMABLE`). Every check happens before data is loaded and before anything is
written. A command run inside :func:`run_folder` sets the replaced records aside instead
of deleting them and drops them only when the new run ends well: if it fails (an unreadable
recording or volume, a NaN loss, Ctrl-C), they are put back, or, where the new run left a
checkpoint to resume, kept aside beside it (:func:`_settle_replaced`); no earlier run is lost.
A run with checkpoints interrupted before its first one, in a folder that held no run, removes
what it wrote (:func:`_drop_uncheckpointed`), so the same command starts again.
One process at a time runs in a folder: :func:`prepare_run_folder` locks it
(:mod:`mtneuro.folder_lock`) before it reads what the folder holds.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import click

from mtneuro.errors import ConfigError
from mtneuro.folder_lock import hold_run_folder, release_run_folder
from mtneuro.report.predictions import PREDICTIONS_FILE
from mtneuro.report.run_records import REPORT
from mtneuro.warning_lines import other_rank
from mtneuro.writable import nearest_existing, write_refusal

#: command kind -> the records (glob patterns, relative to OUT) its runs write.
RUN_RECORDS: dict[str, tuple[str, ...]] = {
    "pretrain": ("checkpoint.pt", "train_log.jsonl", "encoder.pt", "metrics.json"),
    "task": ("metrics.json", PREDICTIONS_FILE, *REPORT),
    "resumable-task": ("metrics.json", PREDICTIONS_FILE, "checkpoints", *REPORT),
    "neural": ("metrics.json", PREDICTIONS_FILE, "encoder.pt", "encoder_first_pass.pt", "seed-*",
               *REPORT),
    "bench": ("cells", *REPORT, "submitit", "suite_cells.json", "shared_encoders"),
}
#: command kind -> what ``--resume`` continues from (kinds that cannot resume are absent).
RESUMABLE: dict[str, str] = {
    "pretrain": "checkpoint.pt",
    "resumable-task": "checkpoints/seed*.pt",  # task2
    "bench": "cells",  # a suite stopped before its first cell ended resumes too
}
#: Where :func:`run_folder` keeps the records ``--overwrite`` replaces until the new run has
#: its own (hidden, and matched by no record pattern).
REPLACED = ".replaced-run"
#: Where they are while being set aside or put back: never complete, so always put back.
_STAGING = ".replaced-run.partial"
#: In the set-aside folder: the command kind whose run was set aside. Another command's run
#: in the folder is no run of that kind: only the same kind settles or drops it.
_KIND = ".kind"
#: command kind -> the record a run of it writes last (kinds not listed: ``metrics.json``)
_LAST_RECORD = {"bench": "report.html"}


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
    existing = nearest_existing(out)
    if not existing.is_dir():
        raise ConfigError(f"{option} {out}: {existing} is a file, so the folder cannot be made "
                          f"there (choose another {option})")
    err = write_refusal(existing)
    if err is not None:
        raise ConfigError(f"{option} {out}: cannot write in {existing} ({err.strerror or err}); "
                          f"choose another {option}")
    return out


def run_records(out: Path, kind: str) -> list[Path]:
    """The records of a ``kind`` run that ``out`` already holds (a folder without a file
    in it, as a run interrupted before its first seed ended leaves, holds nothing to lose)."""
    if not out.is_dir():
        return []
    found = {p for pattern in RUN_RECORDS[kind] for p in out.glob(pattern)}
    return sorted(p for p in found if not p.is_dir() or _holds_a_file(p))


#: a temporary file of :func:`mtneuro.atomic.write_atomic`: ``.<target>.<8 random>.tmp``
TORN_WRITE = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def _remove_torn_writes(out: Path, kind: str) -> None:
    """Delete the temporary files that writes of a ``kind`` run's records, killed mid-way,
    left in ``out`` (a killed process cannot remove them; a task-2 checkpoint's is hundreds
    of MB). Called before a run that continues, replaces or starts the folder's run; only
    temporary files of the run's own records (top level or inside a record folder) go."""
    if other_rank() != 0:
        return
    patterns = RUN_RECORDS[kind]
    for path in out.rglob(".*.tmp"):
        torn = TORN_WRITE.match(path.name)
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


def _replaced_paths(out: Path, held: list[Path]) -> list[Path]:
    """What ``--overwrite`` replaces: the ``held`` records and, where ``metrics.json`` is one
    of them, the figures it lists that are files inside ``out`` (named as paths under
    ``out``, however the record spelt them); none twice, none inside another."""
    from mtneuro.report.results import read_json_object

    paths = list(held)
    figures = (read_json_object(out / "metrics.json") or {}).get("figures")
    if out / "metrics.json" in held and isinstance(figures, list):
        base = out.resolve()
        for name in (f for f in figures if isinstance(f, str)):
            path = out / name
            if path.is_file() and path.resolve().is_relative_to(base):
                paths.append(out / path.resolve().relative_to(base))
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):  # folders before their files
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


def _set_aside(out: Path, paths: list[Path], kind: str) -> None:
    """Move ``paths`` into ``out/.replaced-run``, all or none: they go to a staging folder
    that is put back if a move fails (or the process is killed: the next command puts it
    back) and becomes ``.replaced-run`` only when complete."""
    staging = out / _STAGING
    try:
        staging.mkdir()
        (staging / _KIND).write_text(kind, encoding="utf-8")
        for path in paths:
            target = staging / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    except BaseException:
        _put_back(staging, out)
        raise
    os.replace(staging, out / REPLACED)


def _aside_of(out: Path, kind: str) -> bool:
    """``out`` holds a run set aside by a ``kind`` command (one set aside before the kind was
    recorded counts as any kind's)."""
    marker = out / REPLACED / _KIND
    return (out / REPLACED).is_dir() and (not marker.is_file()
                                          or marker.read_text(encoding="utf-8") == kind)


def _put_back(aside: Path, out: Path) -> None:
    """Every entry of ``aside`` back to its place in ``out`` (over what a failed run left
    there; a link moved as a link), through the staging folder, so that a put-back cut
    short is finished by the next command."""
    staging = out / _STAGING
    if aside != staging:
        os.replace(aside, staging)
    for entry in sorted(staging.iterdir()):
        if entry.name != _KIND:
            _move_back(entry, out / entry.name)
    shutil.rmtree(staging, ignore_errors=True)


def _move_back(source: Path, target: Path) -> None:
    if source.is_dir() and not source.is_symlink() and target.is_dir() and not target.is_symlink():
        for child in sorted(source.iterdir()):  # merge: the failed run made the folder too
            _move_back(child, target / child.name)
        return
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    os.replace(source, target)


def _settle_replaced(out: Path, kind: str) -> bool:
    """Settle the records ``--overwrite`` set aside, after the new run failed or was killed:
    they go if the new run ended (its ``metrics.json`` is there); they stay set aside beside
    a new run that left a checkpoint to resume (neither is lost: ``--resume`` continues the
    new one); otherwise the new run's records go and they are put back where they were. A
    set-aside or put-back that was cut short is always put back.

    Returns:
        Whether the replaced run is still set aside.
    """
    if (out / _STAGING).is_dir():
        _put_back(out / _STAGING, out)
    aside = out / REPLACED
    if not aside.is_dir():
        return False
    if not _aside_of(out, kind):  # another command's: what it replaced is not ours to judge
        return True
    _remove_torn_writes(out, kind)  # a write killed half-way is no record of the new run
    if _ended(out, kind):  # killed after its last record
        shutil.rmtree(aside)
        return False
    if _resumable(out, kind):
        return True
    for path in _replaced_paths(out, run_records(out, kind)):  # unfinished, nothing to resume
        _remove(path)
    _put_back(aside, out)
    return False


def _ended(out: Path, kind: str) -> bool:
    """``out`` holds the record a ``kind`` run writes last (it stopped after its end)."""
    return (out / _LAST_RECORD.get(kind, "metrics.json")).is_file()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _drop_uncheckpointed(out: Path, kind: str) -> None:
    """Remove what a ``kind`` run, interrupted before its first checkpoint in a folder that
    held no run, wrote there: nothing is left to resume, and a leftover log would make the
    plain rerun that the interruption's message offers refuse the folder as holding a run.
    An error keeps them (a diverged run's log says how it diverged); commands without
    checkpoints keep what they finished (a neural run's seeds), as does a bench."""
    if kind not in _CHECKPOINTED or _resumable(out, kind):
        return
    if _ended(out, kind):
        return
    _remove_torn_writes(out, kind)
    for path in run_records(out, kind):
        _remove(path)


#: kinds whose runs keep checkpoints and hold nothing worth keeping before the first one
_CHECKPOINTED = ("pretrain", "resumable-task")


def kept_aside_note(out: Path) -> str:
    """What a failed run says when the run its ``--overwrite`` replaced is still set aside."""
    return (f"the run --overwrite replaced is kept in {out / REPLACED} until a run in {out} "
            "ends well: --resume continues the new one; to go back to the old one, move its "
            f"files back from {REPLACED}")


@contextlib.contextmanager
def run_folder(out: str | Path, kind: str, *, resume: bool = False, overwrite: bool = False,
               option: str = "--out") -> Iterator[Path]:
    """:func:`prepare_run_folder` for the run the ``with`` block makes: the records
    ``overwrite`` replaces are set aside, dropped when the block ends well, and settled as
    :func:`_settle_replaced` says if it fails (on its input, diverging, or interrupted)."""
    out = prepare_run_folder(out, kind, resume=resume, overwrite=overwrite, option=option,
                             set_aside=True)
    main = other_rank() == 0
    # a run started in a folder holding no run of its kind (one set aside is still a run)
    fresh = main and not resume and not (out / REPLACED).is_dir() and not run_records(out, kind)
    try:
        yield out
    except BaseException as err:
        # before settling: a put-back brings the replaced run's own last record
        put_back = main and _aside_of(out, kind) and not _ended(out, kind)
        if main and _settle_replaced(out, kind) and _aside_of(out, kind):  # ours, kept
            click.echo(f"note: {kept_aside_note(out)}", err=True)
        elif put_back and not (out / REPLACED).exists() and isinstance(err, KeyboardInterrupt):
            # said, so that the old run's files are not taken for what this run wrote (an
            # error's one line is about its cause; the folder is as before either way)
            click.echo(f"note: the run --overwrite replaced is back in {out}, as it was; what "
                       "this run wrote there is removed", err=True)
        elif fresh and isinstance(err, KeyboardInterrupt):
            _drop_uncheckpointed(out, kind)
        raise
    finally:
        release_run_folder(out)  # taken by prepare_run_folder
    if main and _aside_of(out, kind):
        shutil.rmtree(out / REPLACED, ignore_errors=True)


def prepare_run_folder(out: str | Path, kind: str, *, resume: bool = False,
                       overwrite: bool = False, dry_run: bool = False,
                       option: str = "--out", set_aside: bool = False) -> Path:
    """Check ``out`` for a ``kind`` run (see the module docstring); with ``overwrite``
    remove the records of the run it holds and the figures its ``metrics.json`` lists, or
    with ``set_aside`` move them into ``out/.replaced-run`` (see :func:`run_folder`); neither
    with ``dry_run``, nor in a ``torchrun`` process other than rank 0.

    Raises:
        ConfigError: one line: a file or unwritable place, a run there without
            ``--resume`` / ``--overwrite``, or ``--resume`` with nothing to resume.
    """
    out = check_writable_folder(out, option)
    if dry_run or other_rank() != 0:
        return _prepared(out, kind, resume, overwrite, dry_run, option, set_aside)
    hold_run_folder(out, option)  # before anything is read: the checks are ours alone
    try:
        return _prepared(out, kind, resume, overwrite, dry_run, option, set_aside)
    except BaseException:
        release_run_folder(out)  # refused: the folder is free again
        raise


def _prepared(out: Path, kind: str, resume: bool, overwrite: bool, dry_run: bool, option: str,
              set_aside: bool) -> Path:
    """The checks and changes of :func:`prepare_run_folder`, the folder checked writable
    (and, unless ``dry_run``, held)."""
    kept_aside = (out / REPLACED).is_dir()
    if not dry_run and other_rank() == 0:
        kept_aside = _settle_replaced(out, kind)  # left by a run that failed or was killed
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
        aside = f" ({kept_aside_note(out)})" if kept_aside else ""
        raise ConfigError(f"{option} {out} already holds a run ({names}); {how}"
                          f"add --overwrite to replace it, or choose another {option}{aside}")
    if not dry_run and other_rank() == 0:
        _remove_torn_writes(out, kind)
        replaced = _replaced_paths(out, held)
        if set_aside and not kept_aside:
            _set_aside(out, replaced, kind)
            return out
        if kept_aside and not _aside_of(out, kind):  # one set-aside place, taken by another
            other = (out / REPLACED / _KIND).read_text(encoding="utf-8")
            raise ConfigError(f"{option} {out}: {out / REPLACED} holds the run a "
                              f"{other} command's --overwrite "
                              f"replaced; move it elsewhere (or delete it), then run again")
        # beside a run already set aside, the held records are a run that never ended: the
        # run set aside stays the one to put back
        for path in replaced:
            _remove(path)
    return out
