"""Files and folders the operating system refuses, for tests that may run as root.

Root reads and writes any file whatever its mode, so ``chmod 000`` proves nothing in CI. These
helpers make the system calls for chosen paths fail with ``EACCES``, as they do for a user who
is not root: opening a file to read (``deny_reading``), looking inside a folder
(``deny_entering``: ``stat`` of anything in it), or creating in a folder (``deny_writing``).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest


def _refused(path: Any) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))


def _key(path: Any) -> str | None:
    if isinstance(path, int):  # a file descriptor: already open
        return None
    return os.path.abspath(os.fsdecode(path))


def _inside(path: Any, folder: str) -> bool:
    key = _key(path)
    return key is not None and key.startswith(folder + os.sep)


def deny_reading(monkeypatch: pytest.MonkeyPatch, *files: Path) -> None:
    """Opening any of ``files`` fails as for a file at mode 000."""
    denied = {_key(f) for f in files}
    real = io.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if _key(file) in denied:
            raise _refused(file)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)


def deny_entering(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``stat`` of anything inside ``folder`` fails as for a folder at mode 000 (so do
    ``Path.is_file`` and ``Path.exists`` of such a path, which do not hide ``EACCES``)."""
    inside, real = _key(folder), os.stat

    def guarded(path: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside(path, inside):
            raise _refused(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", guarded)


def deny_writing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Making a folder or opening a file for writing in ``folder`` (or below it) fails as
    in a read-only folder."""
    inside = _key(folder)
    real_mkdir, real_open, real_io_open = os.mkdir, os.open, io.open
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if _inside(path, inside):
            raise _refused(path)
        real_mkdir(path, *args, **kwargs)

    def low_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writes and (_inside(path, inside) or _key(path) == inside):
            raise _refused(path)  # O_TMPFILE opens the folder itself
        return real_open(path, flags, *args, **kwargs)

    def high_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if set(mode) & set("wax+") and _inside(file, inside):
            raise _refused(file)
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", low_open)
    monkeypatch.setattr(builtins, "open", high_open)
    monkeypatch.setattr(io, "open", high_open)
