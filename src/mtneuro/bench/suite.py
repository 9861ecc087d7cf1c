"""Benchmark suites: a YAML grid of (task, setting, method, seed) cells, validated on load.

A suite file looks like::

    name: quick
    description: every task, small models, minutes on a CPU
    source: phantom              # volume source of the imaging tasks (--source overrides)
    source_params: {seed: 0}
    seeds: [0]                   # default seeds (--seeds overrides)
    grid:
      - task: task2              # a name of mtneuro.bench.tasks.BENCH_TASKS
        setting: 2d-4class       # task-specific, see BENCH_TASKS[task].settings
        methods: [unet]
        preset: quick            # the task's preset, if it has presets
        params: {train: {epochs: 2}}   # overrides of the task's config fields
        seeds: [0, 1]            # optional, else the suite's seeds

Every key is checked by :func:`mtneuro.config.from_mapping`, so a misspelt key
fails naming it (``grid[0].metods: unknown key (did you mean 'methods'?)``).
Built-in suites live in ``mtneuro/resources/suites/<name>.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mtneuro.config import check, from_mapping
from mtneuro.errors import ConfigError
from mtneuro.registry import unknown_name_message

SUITES_DIR = Path(__file__).resolve().parents[1] / "resources" / "suites"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")


def _non_empty(value: Any) -> bool:
    return len(value) > 0


@dataclass(frozen=True)
class GridEntry:
    """One line of a suite's grid: a task setting evaluated for several methods and seeds.

    Attributes:
        task: bench task name (``task1``, ``task2``, ``task3``, ``neural``, ...).
        setting: task-specific setting (e.g. ``roi-c1``, ``2d-4class``, ``chewie-1``).
        methods: methods or models to compare; one cell per method and seed.
        preset: the task's named preset (e.g. ``quick``, ``paper``), if any.
        params: overrides of the task config's fields.
        seeds: seeds of this entry; ``None`` takes the suite's.
        tag: distinguishes two entries with the same task, setting and method.
    """

    task: str
    setting: str
    methods: tuple[str, ...] = field(metadata=check(_non_empty, "at least one method"))
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = field(default=None, metadata=check(_non_empty, "at least one seed"))
    tag: str | None = None


@dataclass(frozen=True)
class Suite:
    """A named grid of cells plus defaults shared by them."""

    name: str
    grid: tuple[GridEntry, ...] = field(metadata=check(_non_empty, "at least one grid entry"))
    description: str = ""
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = field(default=(0,), metadata=check(_non_empty, "at least one seed"))


@dataclass(frozen=True)
class Cell:
    """One unit of work: a task setting, one method, one seed. Plain data, picklable."""

    id: str
    task: str
    setting: str
    method: str
    seed: int
    preset: str | None
    params: dict[str, Any]
    source: str
    source_params: dict[str, Any]
    encoder: str | None = None
    tag: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def builtin_suites() -> list[str]:
    """Names of the suites shipped with mtneuro."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def parse_suite(data: Mapping[str, Any], *, origin: str = "suite") -> Suite:
    """Validate a suite mapping; errors name the bad key and where it came from."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        mapping = {**data, "grid": _indexed_grid(data.get("grid"))}
        return from_mapping(Suite, mapping)
    except ConfigError as err:
        raise ConfigError(f"{origin}: {err}") from None


def _indexed_grid(grid: Any) -> Any:
    """Validate entries one by one so an error names ``grid[i]``."""
    if not isinstance(grid, list):
        return grid  # from_mapping reports the wrong type
    return tuple(from_mapping(GridEntry, e, prefix=f"grid[{i}]") if isinstance(e, Mapping) else e
                 for i, e in enumerate(grid))


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``quick``, ``paper``) or a suite YAML file."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        if str(name_or_path) not in builtin_suites():
            raise ConfigError(unknown_name_message("suite", name_or_path, builtin_suites())
                              + " (or a path to a suite .yaml)")
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"suite file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_suite(data, origin=str(path))


def cell_id(task: str, setting: str, method: str, seed: int, tag: str | None = None) -> str:
    """A file-name-safe, readable id, e.g. ``task1-roi-c1-byol-s0``."""
    parts = [task, setting, method, *([tag] if tag else []), f"s{seed}"]
    return "-".join(_ID_UNSAFE.sub("_", str(p)) for p in parts)


def expand(
    suite: Suite,
    *,
    source: str | None = None,
    seeds: tuple[int, ...] | None = None,
    encoder: str | None = None,
    encoder_tasks: tuple[str, ...] = (),
) -> list[Cell]:
    """All cells of ``suite``, with command-line overrides applied.

    Args:
        source: replaces the suite's volume source (``--source``).
        seeds: replaces every entry's seeds (``--seeds``).
        encoder: a user encoder spec (``--encoder``); adds one ``encoder`` method
            cell per seed to each entry whose task is in ``encoder_tasks``.
        encoder_tasks: tasks able to evaluate a user encoder.

    Raises:
        ConfigError: two cells would get the same id.
    """
    # Source parameters belong to the suite's source; another --source starts from its defaults.
    source_params = dict(suite.source_params) if source in (None, suite.source) else {}
    cells: list[Cell] = []
    for entry in suite.grid:
        methods = list(entry.methods)
        if encoder and entry.task in encoder_tasks and "encoder" not in methods:
            methods.append("encoder")
        for method in methods:
            for seed in seeds or entry.seeds or suite.seeds:
                cells.append(Cell(
                    id=cell_id(entry.task, entry.setting, method, seed, entry.tag),
                    task=entry.task,
                    setting=entry.setting,
                    method=method,
                    seed=int(seed),
                    preset=entry.preset,
                    params=dict(entry.params),
                    source=source or suite.source,
                    source_params=dict(source_params),
                    encoder=encoder if method == "encoder" else None,
                    tag=entry.tag,
                ))
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell.id in seen:
            raise ConfigError(f"suite {suite.name!r}: two grid entries give cell {cell.id!r}; "
                              "add a distinct 'tag' to one of them")
        seen[cell.id] = index
    return cells
