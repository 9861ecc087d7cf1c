"""Results on disk: one ``metrics.json`` per run, with a versioned schema.

Task runs write theirs as a :class:`~mtneuro.tasks.api.Result`
(:func:`mtneuro.report.record.run_and_record`); other runs (``mtneuro pretrain``, a
failed bench cell) through :func:`write_metrics`. Either way the report can rebuild
tables from the files alone, and every record carries where its data came from
(``source``), so phantom numbers are never mistaken for real-volume numbers. Schema
versions 1 and 2 are read (:data:`mtneuro.tasks.api.READABLE_SCHEMAS`).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro import __version__
from mtneuro.atomic import write_atomic
from mtneuro.machine import cpu_model
from mtneuro.tasks.api import READABLE_SCHEMAS, SCHEMA_VERSION, to_jsonable
from mtneuro.threads import torch_threads


def code_version(module_file: str | Path = __file__) -> str:
    """Package version plus the git commit when run from a checkout: only where git tracks
    ``module_file`` (this file), so a package installed into a virtual environment that sits
    inside the user's own repository is not stamped with the user's commit."""
    folder = Path(module_file).resolve().parent
    commit = ""
    if _git(folder, "ls-files", "--error-unmatch", Path(module_file).name) is not None:
        commit = (_git(folder, "rev-parse", "--short", "HEAD") or "").strip()
    return f"{__version__}+{commit}" if commit else __version__


def _git(folder: Path, *args: str) -> str | None:
    """``git args`` run in ``folder``: its output, or ``None`` where it fails (no git, not a
    repository, an untracked file)."""
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def stamp() -> dict[str, Any]:
    """When, with which code, which Python and torch, on which CPU and how many torch CPU
    threads a record is written: trained numbers repeat to the last digit only on the same
    CPU family and versions (docs/neural.md), so a record says where it was made."""
    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code_version": code_version(),
            "python": platform.python_version(), "torch": _torch_version(), "cpu": cpu_model(),
            "torch_threads": torch_threads()}


def _torch_version() -> str | None:
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    """Write JSON so a reader never sees a half-written file (:func:`write_atomic`)."""
    text = json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n"
    return write_atomic(path, text.encode())


def write_metrics(
    out_dir: str | Path,
    *,
    task: str,
    metrics: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | str | None = None,
    wall_s: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/metrics.json``.

    Args:
        task: e.g. ``"task1"``, ``"task2"``, ``"task3"``, ``"neural"``, ``"pretrain"``.
        metrics: the computed numbers (per seed and aggregated).
        config: the validated run configuration (plain data).
        source: provenance of the data (``VolumeSource.describe()`` or a file + sha256).
        wall_s: wall-clock seconds of the run.
        extra: further top-level keys, e.g. the protocol card
            (:meth:`mtneuro.tasks.api.Task.protocol_card`).
    """
    payload = {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        **stamp(),
        "source": source,
        "config": dict(config or {}),
        "metrics": dict(metrics),
        "wall_s": wall_s,
        **dict(extra or {}),
    }
    return write_json_atomic(Path(out_dir) / "metrics.json", payload)


def read_json_object(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` if the file is absent, unreadable (e.g. cut
    short by a crash) or holds no JSON object: a record to trust or to treat as none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_metrics(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    version = data.get("schema_version")
    if version not in READABLE_SCHEMAS:
        raise ValueError(f"{path}: schema_version {version!r} is not supported "
                         f"(expected one of {', '.join(map(str, READABLE_SCHEMAS))})")
    return data
