"""Whether this process may write in a place, asked before any work is done: a probe with an
anonymous temporary file (gone when closed, so it leaves nothing behind). The run commands'
``--out`` check (:func:`mtneuro.cli.run_folder.check_writable_folder`) and the downloads'
(:func:`mtneuro.data.download.fetch_url`) ask it alike.

A base module (standard library only).
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def nearest_existing(path: Path) -> Path:
    """``path`` if it exists, else its nearest ancestor that does: the folder whose
    permissions decide whether ``path`` can be made."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    return existing


def write_refusal(folder: Path) -> OSError | None:
    """Why no file can be created in the existing ``folder``, or ``None`` where one can."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        return err
    return None
