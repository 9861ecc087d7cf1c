"""Benchmark suites: a YAML grid of (task, setting, method, seed) cells, validated on load.

A suite file looks like::

    name: quick
    description: every task, small models, minutes on a CPU
    source: phantom              # volume source of the imaging tasks (--source overrides)
    source_params: {seed: 0}
    seeds: [0]                   # default seeds (--seeds overrides)
    jobs: auto                   # cells at once (--jobs overrides); default 1
    grid:
      - task: task2              # a task name (mtneuro.tasks.registry, mtneuro.list_tasks())
        setting: 2d-4class       # task-specific, see the task's settings
        methods: [unet]
        preset: quick            # the task's preset, if it has presets
        params: {train: {epochs: 2}}   # overrides of the task's config fields
        seeds: [0, 1]            # optional, else the suite's seeds
        ddp: {nproc_per_node: 2} # optional, else the suite's ddp (see below)

``ddp: {nproc_per_node: N}`` (suite level, or per grid entry, which wins) runs the
SSL pre-training of cells that pre-train an encoder on the fly (task 1 / task 3
methods ``byol``, ``myow``, ``myow-merged`` without an ``encoder``) under
``torchrun`` with N processes on the cell's machine (:mod:`mtneuro.bench.ddp`);
N = 1 (the default) pre-trains in the cell's own process.

Every key is checked by :func:`mtneuro.config.from_mapping`, so a misspelt key
fails naming it (``grid[0].metods: unknown key (did you mean 'methods'?)``).
A suite file is also checked against the task registry when it is loaded
(:func:`check_grid`): a wrong task, setting, method or ``params`` key or value fails
naming the file and the entry (``s.yaml: grid[0].params.stepz: unknown key ...``).
Built-in suites live in ``mtneuro/resources/suites/<name>.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mtneuro.config import CheckedConfig, check, from_mapping, load_yaml_mapping, some_seeds
from mtneuro.errors import ConfigError
from mtneuro.registry import unknown_name_message

if TYPE_CHECKING:  # the registry's tasks are imported when a suite file is checked
    from mtneuro.tasks.api import Task

SUITES_DIR = Path(__file__).resolve().parents[1] / "resources" / "suites"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")


def _non_empty(value: Any) -> bool:
    return len(value) > 0


@dataclass(frozen=True)
class DDPOptions(CheckedConfig):
    """``ddp`` of a suite or grid entry: torchrun processes of a cell's SSL pre-training.

    Attributes:
        nproc_per_node: processes (one per GPU on CUDA; gloo on CPU); 1: no torchrun.
    """

    nproc_per_node: int = field(default=1, metadata=check(lambda v: v >= 1, "int >= 1"))


@dataclass(frozen=True)
class GridEntry(CheckedConfig):
    """One line of a suite's grid: a task setting evaluated for several methods and seeds.

    Attributes:
        task: bench task name (``task1``, ``task2``, ``task3``, ``neural``, ...).
        setting: task-specific setting (e.g. ``roi-c1``, ``2d-4class``, ``chewie-1``).
        methods: methods or models to compare; one cell per method and seed.
        preset: the task's named preset (e.g. ``quick``, ``paper``), if any.
        params: overrides of the task config's fields.
        seeds: seeds of this entry; ``None`` takes the suite's.
        tag: distinguishes two entries with the same task, setting and method.
        ddp: torchrun processes of the SSL pre-training; ``None`` takes the suite's.
    """

    task: str
    setting: str
    methods: tuple[str, ...] = field(metadata=check(_non_empty, "at least one method"))
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = field(default=None, metadata=some_seeds())
    tag: str | None = None
    ddp: DDPOptions | None = None


@dataclass(frozen=True)
class Suite(CheckedConfig):
    """A named grid of cells plus defaults shared by them.

    ``jobs`` is how many cells run at once on the local executor (``--jobs`` overrides);
    ``"auto"``: see :func:`mtneuro.bench.runner.resolve_jobs`.
    """

    name: str = field(metadata=check(lambda v: bool(v.strip()), "a non-empty name"))
    grid: tuple[GridEntry, ...] = field(metadata=check(_non_empty, "at least one grid entry"))
    description: str = ""
    source: str = "phantom"
    source_params: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = field(default=(0,), metadata=some_seeds())
    ddp: DDPOptions | None = None
    jobs: int | Literal["auto"] = field(
        default=1, metadata=check(lambda v: v == "auto" or v >= 1, "'auto' or int >= 1"))


@dataclass(frozen=True)
class Cell:
    """One unit of work: a task setting, one method, one seed. Plain data, picklable.

    ``ddp_procs`` > 1: the cell's SSL pre-training runs under torchrun with that many
    processes (set only on cells that pre-train, see :func:`expand`).
    """

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
    ddp_procs: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The cell as plain data (its record's ``cell`` key, compared on ``--resume``)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if self.ddp_procs == 1:
            # Left out when off, so records written before the key existed still resume.
            del data["ddp_procs"]
        return data


def builtin_suites() -> list[str]:
    """Names of the suites shipped with mtneuro."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def parse_suite(data: Mapping[str, Any], *, origin: str = "suite") -> Suite:
    """Validate a suite mapping; errors name the bad key and where it came from."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        mapping = {**data, "grid": _indexed_grid(data.get("grid"))}
        if "ddp" in data:
            mapping["ddp"] = _ddp_options(data["ddp"], "ddp")
        return from_mapping(Suite, mapping)
    except ConfigError as err:
        raise ConfigError(f"{origin}: {err}") from None


def _indexed_grid(grid: Any) -> Any:
    """Validate entries one by one so an error names ``grid[i]``."""
    if not isinstance(grid, list):
        return grid  # from_mapping reports the wrong type
    # a list, as written: an error about the whole grid shows the user's value
    return [_grid_entry(e, f"grid[{i}]") if isinstance(e, Mapping) else e
            for i, e in enumerate(grid)]


def _grid_entry(entry: Mapping[str, Any], key: str) -> GridEntry:
    if "ddp" in entry:
        entry = {**entry, "ddp": _ddp_options(entry["ddp"], f"{key}.ddp")}
    return from_mapping(GridEntry, entry, prefix=key)


def _ddp_options(value: Any, key: str) -> DDPOptions:
    """``ddp`` checked here, so an error names the inner key (a union would hide it)."""
    if isinstance(value, DDPOptions):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping like {{nproc_per_node: 2}}, got {value!r}")
    return from_mapping(DDPOptions, value, prefix=key)


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``quick``, ``neural``, ``paper``) or a suite YAML file.

    A name without a suffix is a built-in suite unless a *file* of that name exists (a
    folder called ``quick``, e.g. a previous ``--out quick``, does not hide the suite).
    Its grid is checked against the registered tasks (:func:`check_grid`), so a task a
    plugin or test registers must be registered before its suite file is loaded.
    """
    path = Path(name_or_path)
    if not path.suffix and not path.is_file():
        if str(name_or_path) not in builtin_suites():
            raise ConfigError(unknown_name_message("suite", name_or_path, builtin_suites())
                              + " (or a path to a suite .yaml)")
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"suite file not found: {path}")
    # as every config file: the error's line and column, text that is not UTF-8 named
    suite = parse_suite(load_yaml_mapping(path), origin=str(path))
    check_grid(suite, origin=str(path))
    return suite


def check_grid(suite: Suite, *, origin: str = "suite") -> None:
    """Check each grid entry against the task registry, so that an error names the file
    and the entry (``s.yaml: grid[0].task: unknown task 'task4' ...``): its task and
    setting, and its ``methods`` and ``params``, by building the config of each method.

    Its ``preset`` and, for a volume task, the suite's ``source`` are named here too. Any
    other error of the built config is left to the cell checks before the run
    (:mod:`mtneuro.bench.checks`, ``mtneuro bench``), which name the cell; so is every check
    of the run itself (source parameters, encoder files).

    Raises:
        ConfigError: ``origin: grid[i].<key>: ...``, one line.
    """
    from mtneuro.tasks.registry import get_task, task_names

    for index, entry in enumerate(suite.grid):
        key = f"grid[{index}]"
        try:
            if entry.task not in task_names():
                raise ConfigError(f"{key}.task: "
                                  + unknown_name_message("task", entry.task, task_names()))
            task = get_task(entry.task)
            try:
                task.check_setting(entry.setting)
            except ConfigError as err:
                raise ConfigError(f"{key}.setting: {err}") from None
            if entry.preset is not None and entry.preset not in task.presets:
                raise ConfigError(f"{key}.preset: " + unknown_name_message(
                    f"{task.name} preset", entry.preset, list(task.presets)))
            if task.volume:
                _check_volume_source(suite.source)
            _check_entry_params(suite, entry, task, key)
        except ConfigError as err:
            raise ConfigError(f"{origin}: {err}") from None


def _check_volume_source(source: str) -> None:
    from mtneuro.data.sources import SOURCE_NAMES

    if source not in SOURCE_NAMES:
        raise ConfigError("source: " + unknown_name_message("source", source, SOURCE_NAMES))


def _check_entry_params(suite: Suite, entry: GridEntry, task: Task, key: str) -> None:
    """Build the config of each method of ``entry`` (its first seed, the suite's source);
    an error in a key of its ``params`` is raised as ``grid[i].params.<key>: ...``."""
    from mtneuro.bench.cell import cell_config  # cell imports this module
    from mtneuro.tasks.api import resolve

    seed = (entry.seeds or suite.seeds)[0]
    for method in entry.methods:
        cell = Cell(id=cell_id(entry.task, entry.setting, method, seed, entry.tag),
                    task=entry.task, setting=entry.setting, method=method, seed=int(seed),
                    preset=entry.preset, params=dict(entry.params), source=suite.source,
                    source_params=dict(suite.source_params), tag=entry.tag)
        try:
            cell_config(task, cell)
        except ConfigError as err:
            # the bad key comes first (config.unknown_key_message); the cell sets some keys
            # over params (cell_config: its fields, quiet, a volume task's source), so an
            # error in one of those is not about params (an encoder cell's encoder is made
            # by --encoder, later: here params' encoder is the one read)
            top, _, rest = str(err).partition(":")
            fields = resolve(task.fields, f"task {task.name} fields")(entry.setting, method,
                                                                      int(seed))
            if top in fields and fields[top] == method:  # the method itself is refused
                raise ConfigError(f"{key}.methods:{rest}") from None
            top = top.split(".", 1)[0]
            owned = {*fields, "quiet", *(("source",) if task.volume else ())}
            if top in entry.params and top not in owned:
                raise ConfigError(_under(f"{key}.params", str(err))) from None


def _under(prefix: str, message: str) -> str:
    """``message`` with ``prefix`` before its key, and before the close key an unknown key
    suggests (another did-you-mean, e.g. of a name, is about a value: left as it is)."""
    hint = ": unknown key (did you mean '"
    return f"{prefix}." + message.replace(hint, f"{hint}{prefix}.", 1)


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
    ddp_procs: int | None = None,
) -> list[Cell]:
    """All cells of ``suite``, with command-line overrides applied.

    Args:
        source: replaces the suite's volume source (``--source``).
        seeds: replaces every entry's seeds (``--seeds``).
        encoder: a user encoder spec (``--encoder``); adds one ``encoder`` method
            cell per seed to each entry whose task is in ``encoder_tasks``.
        encoder_tasks: tasks able to evaluate a user encoder.
        ddp_procs: replaces every ``ddp.nproc_per_node`` (``--ddp-procs``).

    Cells get ``ddp_procs`` only where they pre-train an SSL encoder on the fly: a method
    in their task's :attr:`~mtneuro.tasks.api.Task.pretrain_methods` and no
    ``encoder`` in ``params``; other cells of the suite are unaffected.

    Raises:
        ConfigError: two cells would get the same id; ``ddp_procs`` < 1; a grid entry
            sets ``ddp`` but none of its cells pre-trains.
    """
    # Source parameters belong to the suite's source; another --source starts from its defaults.
    source_params = dict(suite.source_params) if source in (None, suite.source) else {}
    if ddp_procs is not None and ddp_procs < 1:
        raise ConfigError(f"ddp_procs: expected int >= 1, got {ddp_procs!r}")
    cells: list[Cell] = []
    origins: list[int] = []  # the grid entry of each cell
    for index, entry in enumerate(suite.grid):
        methods = list(entry.methods)
        if encoder and entry.task in encoder_tasks and "encoder" not in methods:
            methods.append("encoder")
        procs = ddp_procs or (entry.ddp or suite.ddp or DDPOptions()).nproc_per_node
        pretraining = _pretraining_methods(entry)
        if ddp_procs is None and entry.ddp is not None and procs > 1 and not pretraining:
            raise ConfigError(
                f"suite {suite.name!r}: grid[{index}].ddp: no cell of this entry pre-trains an SSL "
                f"encoder, so there is nothing to run under torchrun (task {entry.task!r} "
                f"pre-trains for methods: {', '.join(_task_pretrain_methods(entry.task)) or 'none'}, "
                "without an 'encoder' param)")
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
                    ddp_procs=procs if method in pretraining else 1,
                ))
                origins.append(index)
    first_entry: dict[str, int] = {}
    for cell, entry in zip(cells, origins, strict=True):
        if cell.id not in first_entry:
            first_entry[cell.id] = entry
        elif first_entry[cell.id] == entry:
            # seeds are checked unique where they are given: the method is listed twice
            raise ConfigError(f"suite {suite.name!r}: grid[{entry}].methods lists "
                              f"{cell.method!r} twice")
        else:
            raise ConfigError(f"suite {suite.name!r}: grid[{first_entry[cell.id]}] and "
                              f"grid[{entry}] both give cell {cell.id!r}; add a distinct 'tag' "
                              "to one of them")
    return cells


def _task_pretrain_methods(task: str) -> tuple[str, ...]:
    from mtneuro.tasks.registry import get_task, task_names

    if task not in task_names():  # an unknown task is reported by the runner
        return ()
    return get_task(task).pretrain_methods


def _pretraining_methods(entry: GridEntry) -> set[str]:
    """Methods of ``entry`` whose cells pre-train an SSL encoder on the fly."""
    if entry.params.get("encoder"):  # a given checkpoint replaces the pre-training
        return set()
    return set(entry.methods) & set(_task_pretrain_methods(entry.task))
