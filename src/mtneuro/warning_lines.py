"""mtneuro's own warnings as one ``warning: ...`` line each, once per command.

A user needs what happened, not which line of the library noticed it; a run of several
seeds raises the same warning once per seed, and the bench's worker processes build the
configs the main process already checked (and warned about). :func:`install` makes
:func:`warnings.showwarning` print mtneuro's warnings this way and leaves others as Python
shows them; the CLI installs it for each command, the bench in each worker with the
messages the main process has shown.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from mtneuro.errors import ConfigError
from mtneuro.torchrun_env import torchrun_int

PACKAGE_DIR = str(Path(__file__).resolve().parent)
#: the messages shown in this process since :func:`install`
SHOWN: set[str] = set()
_python_showwarning = warnings.showwarning


def other_rank() -> int:
    """This process's rank in a torchrun job of several, 0 otherwise: every process of a job
    warns alike, and rank 0 (which alone writes the run folder) speaks for them."""
    try:
        return torchrun_int("RANK", 0) if torchrun_int("WORLD_SIZE", 1) > 1 else 0
    except ConfigError:  # a bad value is for the command to refuse: here, rank 0
        return 0


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """:func:`warnings.showwarning` for mtneuro's warnings (see the module doc)."""
    if not filename.startswith(PACKAGE_DIR):
        _python_showwarning(message, category, filename, lineno, file, line)
        return
    if other_rank() or str(message) in SHOWN:
        return
    SHOWN.add(str(message))
    print(f"warning: {message}", file=sys.stderr, flush=True)


def install(shown: Iterable[str] = ()) -> None:
    """Show warnings with :func:`show_warning` from now on, ``shown`` counting as shown."""
    warnings.showwarning = show_warning
    SHOWN.clear()
    SHOWN.update(shown)
