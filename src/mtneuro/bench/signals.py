"""A SIGTERM handler for the length of a block, put back afterwards.

``kill`` (or a pool terminating its worker) sends SIGTERM, which by default ends the
process at once: no clean-up runs, and child processes (cell workers, torchrun) are left
running. The bench turns it into an exception where it can clean up
(:func:`mtneuro.bench.runner.sigterm_as_interrupt`, :func:`mtneuro.bench.ddp.launch_pretrain`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: ``handler(signum, frame, previous)``: ``previous`` is the handler it replaced.
SigtermHandler = Callable[[int, Any, Any], None]


@contextlib.contextmanager
def on_sigterm(handler: SigtermHandler) -> Iterator[None]:
    """Within the block, SIGTERM calls ``handler(signum, frame, previous)``; the previous
    handler is restored after it. Only the main thread may set signal handlers: elsewhere
    the block runs with none installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: handler(signum, frame, previous))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
