"""The submitit executors that run a suite's cells off this process: SLURM or local jobs.

:func:`check_executor` asks of ``--executor`` and its ``--executor-param`` values what
submitting would, before anything is written or queued: SLURM present, every parameter name
known to the executor and of the right type. Submitit itself ignores a local executor's
unknown parameters (a misspelt ``timeout_min`` would leave the 24 h default without a word)
and reports a SLURM one with a traceback at the first submission.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro.bench.windows import refuse_submitit
from mtneuro.errors import ConfigError
from mtneuro.extras import require

#: Default time limit of a submitit-local job, minutes.
LOCAL_TIMEOUT_MIN = 24 * 60
#: What submitit's LocalExecutor reads (its ``_internal_update_parameters``), and the type.
LOCAL_PARAMETERS: dict[str, tuple[type, ...]] = {
    "timeout_min": (int, float), "gpus_per_node": (int,), "visible_gpus": (list,),
    "tasks_per_node": (int,), "nodes": (int,), "signal_delay_s": (int,), "setup": (list,),
    "stderr_to_stdout": (bool,),
}
_JOB_NAME = "mtneuro-bench"


def submitit_executor(folder: Path, executor: str, params: Mapping[str, Any] | None) -> Any:
    """A submitit executor writing its job files under ``folder``.

    Raises:
        ConfigError: see :func:`check_executor`.
    """
    submitit = require("submitit", "cluster")
    params = dict(params or {})
    if executor == "slurm":
        if not _slurm_present(submitit):
            raise ConfigError("--executor slurm: no SLURM here (srun is not on PATH); run the "
                              "bench on a SLURM login node, or use --executor local or "
                              "submitit-local")
        built = submitit.AutoExecutor(folder=folder, cluster="slurm")
        _update(built, {"name": _JOB_NAME, **params})
        return built
    for key, value in params.items():
        expected = LOCAL_PARAMETERS.get(key)
        if expected is None:
            raise ConfigError(f"--executor-param {key}: not a parameter of submitit-local "
                              f"(expected one of {', '.join(LOCAL_PARAMETERS)})")
        # a bool is an int to Python, but true is no count of nodes or GPUs
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            names = " or ".join(t.__name__ for t in expected)
            raise ConfigError(f"--executor-param {key}: expected {names}, got {value!r}")
    built = submitit.LocalExecutor(folder=folder)
    _update(built, {"timeout_min": LOCAL_TIMEOUT_MIN, **params})
    return built


def check_executor(executor: str, params: Mapping[str, Any] | None) -> None:
    """Build ``executor`` with ``params`` in a scratch folder, as a run would, and throw it
    away (``local`` takes no parameters).

    Raises:
        ConfigError: a submitit executor on Windows (:mod:`mtneuro.bench.windows`);
            parameters given to ``local``; no SLURM for ``slurm``; a parameter
            name the executor does not know, or a value of the wrong type (one line).
        ExtraMissingError: submitit is not installed (``mtneuro[cluster]``).
    """
    refuse_submitit(executor)  # Windows: before submitit is imported, installed or not
    if executor == "local":
        if params:
            raise ConfigError(f"--executor-param {next(iter(params))}: submitit parameters "
                              "apply to --executor slurm or submitit-local, not to local")
        return
    with tempfile.TemporaryDirectory() as scratch:
        submitit_executor(Path(scratch) / "%j", executor, params)


def _slurm_present(submitit: Any) -> bool:
    return submitit.SlurmExecutor.affinity() > 0


def _update(executor: Any, params: Mapping[str, Any]) -> None:
    """``executor.update_parameters`` with submitit's refusals as one-line ConfigErrors."""
    try:
        executor.update_parameters(**params)
    except (NameError, ValueError, TypeError, AssertionError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"--executor-param: submitit refused the parameters: {first}") from None
