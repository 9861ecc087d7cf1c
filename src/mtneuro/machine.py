"""The machine a number was made on, as far as it changes trained results: the CPU model and
the vector instructions torch's kernels use (float sums are ordered differently on another
CPU family, so the same seed's training drifts from the first step; docs/neural.md).

Imports nothing heavy: records of runs that never loaded torch are written with it too.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name (``cpuinfo``, else what :mod:`platform` knows), with the vector
    instructions torch's kernels use here when torch is loaded (``AVX2``, ...)."""
    name = ""
    try:
        lines = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines()
        name = next((line.split(":", 1)[1].strip() for line in lines
                     if line.startswith("model name")), "")
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown"
    torch = sys.modules.get("torch")  # not imported for it: a record of no torch run
    if torch is not None:
        name += f" ({torch.backends.cpu.get_cpu_capability()})"
    return name
