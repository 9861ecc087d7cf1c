"""One run at a time in a run folder.

The checks of :mod:`mtneuro.cli.run_folder` look at what ``--out`` holds and then write, so
two processes started on one folder within seconds of each other both passed them and wrote
into it together (two pre-trainings interleaving one ``train_log.jsonl``, the second's
``encoder.pt`` replacing the first's). :func:`hold_run_folder` takes an exclusive ``flock``
on the folder itself (no lock file: the folder holds only the run's records) and
:func:`release_run_folder` lets it go when the run ends; the kernel drops it when the holder
dies, ``kill -9`` included. A file system without ``flock`` (or Windows) runs unlocked, as
before. The commands hold it through :mod:`mtneuro.cli.run_folder`; :func:`mtneuro.evaluate`
and :func:`mtneuro.pretrain` hold their ``out`` with :func:`held_run_folder`.

A base module (standard library only, and the package's errors).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from mtneuro.errors import ConfigError
from mtneuro.made_folders import missing_folders, remove_empty

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

@dataclasses.dataclass
class _Hold:
    fd: int  # the descriptor holding the lock
    made: list[Path]  # the folders the first hold made, deepest first
    holds: int = 1


#: folders this process holds, by resolved path
_HELD: dict[Path, _Hold] = {}


def hold_run_folder(out: Path, option: str = "--out") -> None:
    """Lock ``out`` (made if missing, and removed again on release if the run left it
    empty) for this process, until as many :func:`release_run_folder` calls as holds.

    Raises:
        ConfigError: another process holds it: a run is writing there now.
    """
    key = out.resolve()
    if key in _HELD:
        _HELD[key].holds += 1
        return
    if fcntl is None:
        return
    made = missing_folders(out)
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise ConfigError(f"{option} {out}: another mtneuro process is running there now; "
                              f"wait for it to end, or choose another {option}") from None
        remove_empty(made)
        return  # ENOLCK and the like: a file system that cannot lock
    _HELD[key] = _Hold(fd, made)


def release_run_folder(out: Path) -> None:
    """Undo one :func:`hold_run_folder` of ``out``; the last one unlocks it and removes the
    folders it made that the run left empty (a run refused, or failed on its input)."""
    key = out.resolve()
    held = _HELD.get(key)
    if held is None:
        return
    held.holds -= 1
    if held.holds == 0:
        del _HELD[key]
        remove_empty(held.made)  # while locked: no other run has started in it
        os.close(held.fd)  # releases the flock


@contextlib.contextmanager
def held_run_folder(out: Path, option: str = "--out") -> Iterator[None]:
    """:func:`hold_run_folder` of ``out`` within the block, released however it ends.

    Raises:
        ConfigError: another process holds it (naming ``option``, e.g. ``out``).
    """
    hold_run_folder(out, option)
    try:
        yield
    finally:
        release_run_folder(out)
