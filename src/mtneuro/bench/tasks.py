"""Which tasks a suite can name, and where each task's bench adapter lives.

An adapter is a module with four functions (resolved lazily, in the process
that runs the cell, so a task can be added without touching the runner):

* ``build_config(cell) -> config``: the task's typed config for one cell
  (:class:`mtneuro.bench.suite.Cell`: setting, method, seed, preset, params,
  source, encoder);
* ``run(config) -> dict``: the task's Python API, quietly; the result holds
  ``metrics`` (plain data for ``metrics.json``) and may hold ``source``;
* ``headline(result) -> dict[str, float]``: the numbers of the leaderboard,
  keyed like :mod:`mtneuro.report.published` (``accuracy``, ``f1_avg``, ...);
* ``plots(result, out_dir) -> list[Path]``: the task's figures for the report.

and optionally ``inputs(cell) -> dict``: data files read and their SHA-256, and
``pretrain_distributed(config, launch) -> config`` for tasks with
``pretrain_methods`` (see :mod:`mtneuro.bench.ddp`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from mtneuro.errors import ConfigError
from mtneuro.registry import unknown_name_message

ADAPTER_FUNCTIONS = ("build_config", "run", "headline", "plots")
#: Methods of tasks 1 and 3 that pre-train an encoder on the fly when given no ``encoder``
#: (:data:`mtneuro.tasks.region_encoders.SSL_METHODS`, not imported: it pulls in torch).
SSL_METHODS = ("byol", "myow", "myow-merged")


@dataclass(frozen=True)
class BenchTask:
    """A task a suite can name.

    Attributes:
        name: the suite's ``task`` value.
        adapter: module path of its adapter (see the module docstring).
        title: heading in the report.
        settings: valid ``setting`` values (empty: any).
        encoder: the task can evaluate a user encoder (``--encoder``, method ``encoder``).
        volume: the task reads the volume source (``--source``); neural decoding does not.
        pretrain_methods: methods whose cells pre-train an SSL encoder on the fly with
            :func:`mtneuro.ssl.pretrain.run_pretrain`; a suite's ``ddp`` can run that
            step under torchrun (the adapter then defines ``pretrain_distributed``,
            see :mod:`mtneuro.bench.ddp`).
    """

    name: str
    adapter: str
    title: str
    settings: tuple[str, ...] = ()
    encoder: bool = False
    volume: bool = True
    pretrain_methods: tuple[str, ...] = ()

    def load(self) -> ModuleType:
        """Import the adapter; a missing task module is a clear error, not a traceback."""
        try:
            module = importlib.import_module(self.adapter)
        except ImportError as exc:
            raise ConfigError(f"bench task {self.name!r} is not available: cannot import "
                              f"{self.adapter} ({exc})") from exc
        missing = [f for f in ADAPTER_FUNCTIONS if not callable(getattr(module, f, None))]
        if missing:
            raise ConfigError(f"bench task {self.name!r}: adapter {self.adapter} lacks {', '.join(missing)}")
        return module


BENCH_TASKS: dict[str, BenchTask] = {}


def register_task(task: BenchTask, *, replace: bool = False) -> BenchTask:
    """Make ``task`` nameable in suites (plugins and tests add their own)."""
    if task.name in BENCH_TASKS and not replace:
        raise ValueError(f"bench task {task.name!r} is already registered")
    BENCH_TASKS[task.name] = task
    return task


def get_task(name: str) -> BenchTask:
    if name not in BENCH_TASKS:
        raise ConfigError(unknown_name_message("bench task", name, sorted(BENCH_TASKS)))
    return BENCH_TASKS[name]


def encoder_tasks() -> tuple[str, ...]:
    """Tasks that evaluate a user encoder given with ``--encoder``."""
    return tuple(name for name, task in BENCH_TASKS.items() if task.encoder)


register_task(BenchTask(
    "task1", "mtneuro.bench.adapters.task1", "Task 1: brain-region classification (accuracy)",
    settings=("roi-c1", "roi-c2", "roi-c3"), encoder=True, pretrain_methods=SSL_METHODS,
))
register_task(BenchTask(
    "task2", "mtneuro.bench.adapters.task2", "Task 2: microstructure segmentation (F1, IoU)",
    settings=("2d-4class", "2d-3class", "3d-4class", "3d-3class"),
))
register_task(BenchTask(
    "task3", "mtneuro.bench.adapters.task3", "Task 3: semantic features from frozen embeddings (R²)",
    settings=("roi-c1", "roi-c3"), encoder=True, pretrain_methods=SSL_METHODS,
))
register_task(BenchTask(
    "neural", "mtneuro.bench.adapters.neural", "Neural decoding (MYOW protocols)", volume=False,
))
