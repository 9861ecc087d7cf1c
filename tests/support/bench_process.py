"""A bench script run as a process of its own, for the tests that signal or kill it: started
in its own process group with its output in a file (a worker left running would hold a pipe
open), waited for until ``ready()`` (its hanging cell runs), and killed with its whole group
at the end, whatever the test left of it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def started_bench(args: list[str], log: Path, ready: Callable[[], bool], *,
                  env: dict[str, str] | None = None, timeout_s: float = 60
                  ) -> Iterator[subprocess.Popen]:
    """The running bench process, once ``ready()`` (asserted, with the log's tail)."""
    with log.open("wb") as output:
        bench = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not ready() and bench.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready(), log.read_text()[-2000:]
        yield bench
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of it is left, if it failed
            os.killpg(bench.pid, signal.SIGKILL)
        bench.wait()
