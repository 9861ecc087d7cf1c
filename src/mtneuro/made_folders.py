"""Folders made for a run's output, removed again when the run left them empty.

A run refused on its input (a recording that does not load, a split it cannot make) must
leave nothing behind: an empty ``OUT/`` or ``OUT/cells/`` reads as a run that started. The
commands' run-folder lock (:mod:`mtneuro.folder_lock`) and :func:`mtneuro.evaluate` note
which folders did not exist before and remove those left empty.

A base module (standard library only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


def missing_folders(path: Path) -> list[Path]:
    """The folders of ``path`` (itself and its parents) that do not exist yet, deepest
    first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) that are empty; the first one holding anything
    stops it, since its parents hold it too."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def removed_if_left_empty(path: Path) -> Iterator[None]:
    """On an error inside, remove the folders of ``path`` made since it began and left
    empty (a run that wrote something keeps it, for its failure record)."""
    made = missing_folders(path)
    try:
        yield
    except BaseException:
        remove_empty(made)
        raise
