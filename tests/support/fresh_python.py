"""Python code run in a fresh interpreter, where ``sys.modules`` starts empty: what a command
imports, or what a library reads from the environment when it loads, is seen as a user's
process sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def run_fresh(code: str, *, drop_env: tuple[str, ...] = (),
              env: Mapping[str, str] | None = None) -> str:
    """The stripped stdout of ``python -c code``; fails the test (with the end of stderr)
    when it exits non-zero. ``drop_env``: variables left out of this process's environment."""
    environment = {k: v for k, v in (env or os.environ).items() if k not in drop_env}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
