"""Temporary files of a cache's atomic writes: their names, and when one is a leftover.

Every file of a cache is written to ``.<name>.tmp-<pid>-<thread>@<host>`` beside it, then
moved over it (:func:`mtneuro.data.sources.cache_metadata.atomic_write`); a writer killed
in between leaves that file behind, and ``mtneuro data verify`` counts it and its repair
removes it. Deleting one under a live writer would fail that writer's write, so a
temporary file is a leftover only when its writer is known to be gone:

- named by this host and its process is gone: at once (a ``kill -9`` leaves nothing for
  long);
- anything else, only once older than :data:`STALE_TEMP_S`: a file named by another host
  (a cache on a network file system such as NFS, where a process id of another machine
  means nothing here), one without a host (written by an older mtneuro, whose names carried
  none: the process id alone cannot tell this host's writers from another's), and lock files
  (which :func:`~mtneuro.data.sources.cache_lock.remove_lock_file` checks anyway).

A host is named by its hostname; a generic one (``localhost``) is not written, since
several machines may share it. Containers that share one hostname but not their process
ids could take each other's live writers for gone (a repair there would fail such a write):
give them their own hostnames, as container runtimes do by default.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

TMP_MARK = ".tmp-"
#: A temporary file older than this is a leftover of a killed writer; a younger one of an
#: unknown writer may be a write in progress (a chunk is written in seconds).
STALE_TEMP_S = 600.0


def _host_tag() -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    return "" if not name or name.startswith("localhost") else f"@{name}"


_HOST = _host_tag()
_WRITER = re.compile(re.escape(TMP_MARK) + r"(?P<pid>\d+)-\d+(?P<host>@.+)$")


def temp_path(path: Path) -> Path:
    """The temporary file of this process's and thread's write of ``path``."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{threading.get_ident()}{_HOST}")


def is_stale_temp(path: Path, now: float | None = None) -> bool:
    """Whether temporary file ``path`` is a leftover (see the module notes); a file that is
    gone already (its writer finished) is not."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return False
    if _writer_gone(path.name):
        return True
    return (time.time() if now is None else now) - modified > STALE_TEMP_S


def _writer_gone(name: str) -> bool:
    """The file's name says this host wrote it, and that process no longer exists."""
    match = _WRITER.search(name)
    if match is None or not _HOST or match["host"] != _HOST or os.name != "posix":
        return False  # (os.kill on Windows would end the process, not probe it)
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: alive
        return False
    return False  # alive, or its id taken by a new process since: the age rule then
