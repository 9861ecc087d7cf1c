"""Files written so a reader sees the old file or the whole new one, never half of one.

A base module (standard library only): checkpoints (:mod:`mtneuro.checkpoint_io`), run
records (:mod:`mtneuro.report.results`), reports and figures are written with it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], Any] | bytes) -> Path:
    """Write ``path`` (``write(handle)`` or the given bytes) so readers see the old or the new file.

    A temporary file in the target directory, fsync, then ``os.replace``: the rename is
    atomic on POSIX, so an interrupted write leaves the previous file in place. The file gets
    the permissions ``open()`` would give it (those of the file it replaces, else 0666 less
    the umask), not the temporary file's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            if isinstance(write, bytes):
                handle.write(write)
            else:
                write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # os.write names no file: say which one did not fit
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        # Never leave a half-written temp file behind (e.g. Ctrl-C during the write).
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
