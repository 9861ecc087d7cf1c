"""The Python entry point: score an encoder on the benchmark's tasks.

>>> import mtneuro
>>> mtneuro.list_tasks()                                   # doctest: +SKIP
['neural/chewie-1', ..., 'task1/roi-c1', ..., 'task3/roi-c3']
>>> results = mtneuro.evaluate(my_encoder, tasks=["task1/roi-c1", "task3/roi-c1"],
...                            preset="quick", source="phantom", seeds=[0],
...                            out="runs/mine")           # doctest: +SKIP
>>> results.table()                                        # doctest: +SKIP

Each (task, setting, seed) runs the task's encoder method through the task contract
(:mod:`mtneuro.tasks.api`) and, with ``out``, is recorded like a bench cell
(``out/cells/<id>/metrics.json`` and figures), so ``mtneuro report out`` builds the
report and :func:`load_results` reads them back. A top-level module, beside the CLI.
"""

from __future__ import annotations

import copy
import functools
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from mtneuro.api_arguments import (
    encoder_argument,
    mapping_argument,
    out_folder,
    results_path,
    seed_list,
    task_name_list,
)
from mtneuro.api_results import Results
from mtneuro.bench.cell import (
    CELLS_DIR,
    bench_keys,
    build_encoder,
    cell_config,
    recorded_weights,
)
from mtneuro.bench.checks import check_params
from mtneuro.bench.suite import Cell, cell_id
from mtneuro.errors import ConfigError
from mtneuro.folder_lock import held_run_folder
from mtneuro.made_folders import removed_if_left_empty
from mtneuro.report.leaderboard import load_records
from mtneuro.report.record import load_result, run_and_record
from mtneuro.report.run_records import REPORT, scores_no_task
from mtneuro.report.suite_cells import SUITE_CELLS, left_out_line
from mtneuro.tasks.registry import list_tasks, split_task_setting

__all__ = ["NoResultsError", "Results", "evaluate", "list_tasks", "load_results"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class NoResultsError(ConfigError, FileNotFoundError):
    """:func:`load_results` found no results where it was pointed (still a
    ``FileNotFoundError``, as the bare error it replaces was)."""


def _encoder_of(encoder: Any, kind: str) -> tuple[Any, str]:
    """(module to pass to the task or ``None``, label recorded as the cell's encoder)."""
    if isinstance(encoder, str):
        if kind == "image":  # the task resolves the spec itself, recording it
            return None, encoder
        # built now, not by each seed's run: a spec that does not build fails before any
        # cell runs
        return rate_encoder_copy(encoder), encoder
    from torch import nn

    from mtneuro.models.user import refuse_meta_weights

    if not isinstance(encoder, nn.Module):
        raise ConfigError(f"encoder: expected a torch.nn.Module, a 'module:callable' or a "
                          f"checkpoint path (str or os.PathLike), got {type(encoder).__name__}")
    # before any run, and before out= fingerprints the weights (which reads their values)
    refuse_meta_weights(encoder, f"(in-memory {type(encoder).__name__})")
    return encoder, f"{type(encoder).__module__}:{type(encoder).__qualname__} (in memory)"


def rate_encoder_copy(spec: str) -> Any:
    """A copy of the firing-rate encoder ``spec`` builds, from the process's one build of it
    (:func:`~mtneuro.bench.cell.build_encoder`: seed 0, the caller's random state untouched),
    whose weights the records fingerprint: a spec of random weights scores the same in every
    call, and is built once for its fingerprint and every run.

    Raises:
        the error building it raised (:func:`~mtneuro.tasks.neural.task.rate_encoder_error`).
    """
    from mtneuro.tasks.neural.task import rate_encoder_error

    built = build_encoder(spec)
    if isinstance(built, Exception):
        raise rate_encoder_error(spec, built)
    return copy.deepcopy(built.module)


def _keeping_random_state(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` within :func:`~mtneuro.ssl.random_state.kept_random_state`, imported
    when it is called (it imports torch; ``import mtneuro.api`` does not)."""

    @functools.wraps(function)
    def kept(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        from mtneuro.ssl.random_state import kept_random_state

        with kept_random_state():
            return function(*args, **kwargs)

    return kept


def _holding_out(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` with its ``out`` folder locked (:mod:`mtneuro.folder_lock`), as a
    command's ``--out``: two evaluations started into one folder at once would both pass its
    checks and write there together."""

    @functools.wraps(function)
    def held(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        out = kwargs.get("out")
        if out is None:
            return function(*args, **kwargs)
        with held_run_folder(out_folder(out), "out"):
            return function(*args, **kwargs)

    return held


# runs seed the global generators (and modules they import draw from `random`): an encoder
# the caller builds next must not get the weights of the last run's seed
@_keeping_random_state
@_holding_out
def evaluate(encoder: Any, tasks: str | Sequence[str], *, preset: str | None = "quick",
             source: str = "phantom", source_params: Mapping[str, Any] | None = None,
             seeds: int | Sequence[int] = (0,), out: str | Path | None = None,
             params: Mapping[str, Any] | None = None, overwrite: bool = False) -> Results:
    """Score ``encoder`` on ``tasks`` (names of :func:`list_tasks`).

    Args:
        encoder: a ``torch.nn.Module`` mapping ``(N, 1, H, W)`` images in [0, 1] to
            ``(N, D)`` (tasks 1 and 3; neural tasks: ``(N, neurons)`` to ``(N, D)``), or a
            ``module:callable`` string or checkpoint path (a str or ``os.PathLike``;
            ``--encoder`` of the CLI).
            Its ``input_spec`` attribute, if any, gives its normalisation. A spec for a
            neural task is built under seed 0 whatever the caller's random state, so the
            weights that run are those its record fingerprints.
        tasks: ``"<task>/<setting>"`` names, e.g. ``["task1/roi-c1", "task3/roi-c1"]``
            (one name alone is one task).
        preset: the tasks' preset (``quick``: minutes on a CPU; ``paper``; ``None``).
        source, source_params: the volume source of the imaging tasks.
        seeds: one run per seed (one int: that seed alone); the table shows mean +- std
            over them.
        out: folder for ``cells/<id>/metrics.json`` and figures (``None``: nothing written).
            Every cell records the weights it evaluated (SHA-256 of the module's
            ``state_dict``, or of the encoder a spec names); a cell it already holds, or any
            result of other weights, is refused (one leaderboard row would mix two
            encoders) unless ``overwrite``. The same encoder with more seeds or tasks adds
            to it.
        params: further config values for every task (e.g. ``{"device": "cuda"}``).
        overwrite: first remove the results ``out`` holds (all of ``cells/``, and the report
            ``mtneuro report`` wrote there), so only this call's remain.

    Returns:
        :class:`Results` (``.table()``). The global random states of torch (CPU, and CUDA
        where it had started), NumPy and ``random`` are as they were before the call.

    Raises:
        ConfigError: no task, an unknown task or setting, a task that evaluates no user
            encoder, ``seeds`` neither an int nor a non-empty sequence of them, a seed outside
            [0, 2**32), ``out`` not a path, ``params`` or ``source_params`` not a mapping
            (:mod:`mtneuro.api_arguments`), an unknown ``source`` or a ``source_params`` value
            it refuses (when an imaging task reads it), a cell ``out`` holds already or a
            result there of other weights (without ``overwrite``), or a catalogued recording
            that is not downloaded here; all before anything runs (or is removed).
    """
    seeds, out, encoder = seed_list(seeds), out_folder(out), encoder_argument(encoder)
    params = mapping_argument("params", params, "{'device': 'cuda'}")
    source_params = mapping_argument("source_params", source_params, "{'seed': 0}")
    plan = [split_task_setting(name) for name in task_name_list(tasks)]
    for task, _ in plan:
        if task.encoder_method is None:
            raise ConfigError(f"task {task.name}: evaluates no user encoder; tasks that do: "
                              + ", ".join(n for n in list_tasks() if _takes_encoder(n)))
    if any(task.volume for task, _ in plan):
        # an imaging task opens the source only when it runs: a neural cell before it
        # would run and be recorded, then the call fail on a misspelt source
        from mtneuro.data.sources import source_params as checked_source_params

        checked_source_params(source, source_params)
    if out is not None and not overwrite:
        _refuse_taken_cells(out, [cell_id(task.name, setting, task.encoder_method, int(seed))
                                  for task, setting in plan for seed in seeds])
    # every cell's config (and the encoder each kind of task reads) before any runs: a wrong
    # key for one task must not fail after another's results were recorded
    runs = []
    for task, setting in plan:
        module, label = _encoder_of(encoder, task.encoder)
        for seed in seeds:
            cell = Cell(id=cell_id(task.name, setting, task.encoder_method, int(seed)),
                        task=task.name, setting=setting, method=task.encoder_method,
                        seed=int(seed), preset=preset, params=dict(params),
                        source=source, source_params=dict(source_params), encoder=label)
            # the cell's own value would silently replace a given one: params={"method":
            # "pca"} ran the encoder method, recorded as asked
            check_params(cell, by="evaluate", origins=_OWNED_FROM, prefix="")
            try:
                config = cell_config(task, cell)
            except ConfigError as err:  # params go to every task: say whose config refused
                raise ConfigError(f"{task.name}/{setting}: {err}") from None
            runs.append((task, cell, config, module))
    _refuse_missing_recordings([config for _, _, config, _ in runs])
    if out is None:
        return Results([task.execute(config, encoder=module) for task, _, config, module in runs])
    keys = _record_keys(out, [cell for _, cell, _, _ in runs], encoder, overwrite)
    # a run refused on its data (a recording that does not load) leaves no empty out/cells/
    with removed_if_left_empty(out / CELLS_DIR):
        return Results([run_and_record(task, config, out / CELLS_DIR / cell.id,
                                       encoder=module, extra=keys[cell.id])
                        for task, cell, config, module in runs])


def _refuse_taken_cells(out: Path, ids: list[str]) -> None:
    taken = [i for i in ids if (out / "cells" / i / "metrics.json").is_file()]
    if taken:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise ConfigError(f"out {out}: cell {taken[0]}{more} already holds a result, perhaps of "
                          "another encoder; pass overwrite=True to replace it, or another out")


def _record_keys(out: Path, cells: list[Cell], encoder: Any,
                 overwrite: bool) -> dict[str, dict[str, Any]]:
    """Each cell's bench keys (by id), with the weights it evaluates; before any cell runs,
    ``out`` is refused if it holds another encoder's results, or with ``overwrite`` emptied
    of its results."""
    from mtneuro.checkpoint_io import content_digest

    in_memory = None if isinstance(encoder, str) else content_digest(encoder.state_dict())
    keys = {cell.id: bench_keys(cell, "complete", in_memory=in_memory) for cell in cells}
    if overwrite:
        _remove_results(out)
    else:
        _refuse_other_weights(out, cells[0].encoder, recorded_weights(keys[cells[0].id]))
    return keys


def _refuse_other_weights(out: Path, label: str | None, weights: dict[str, str | None]) -> None:
    """Cell ids name no encoder: a complete record in ``out`` of other weights (or of weights
    not recorded) would be averaged with this call's cells as seeds of one encoder."""
    for record in load_records(out):
        theirs = recorded_weights(record)
        if record.get("status") != "complete" or (theirs and theirs == weights):
            continue
        cell = record.get("cell") if isinstance(record.get("cell"), dict) else {}
        raise ConfigError(
            f"out {out}: cell {cell.get('id', record['_dir'])} holds a result of another "
            f"encoder ({cell.get('encoder') or 'no encoder'}, {_short(theirs)}), not this "
            f"call's ({label}, {_short(weights)}); one leaderboard row would mix the two: "
            "pass overwrite=True to replace out's results, or another out")


def _short(weights: dict[str, str | None]) -> str:
    if not weights:
        return "weights not recorded"
    return ", ".join(f"sha256 {digest[:12]}" if digest else "does not build"
                     for digest in weights.values())


def _remove_results(out: Path) -> None:
    """overwrite=True replaces ``out``'s evaluation, not only the cells it runs: the others
    would be averaged with the new ones, and a report would describe the old results."""
    for name in (CELLS_DIR, SUITE_CELLS, *REPORT):  # suite_cells.json: which cells to leave out
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


#: Where evaluate takes a config key it sets itself from ("": any other key).
_OWNED_FROM = {"method": "the task's encoder method", "seed": "seeds=", "seeds": "seeds=",
               "source": "source=", "encoder": "the encoder argument",
               "quiet": "evaluate (always quiet)", "": "the task name's setting ('task/setting')"}


def _refuse_missing_recordings(configs: list[Any]) -> None:
    # A bench skips such a cell; here the call would stop at it with the cells before it
    # recorded, and the same call again would be refused for those: say so before any runs.
    from mtneuro.data.neural import missing_recording_message
    from mtneuro.tasks.neural.task import missing_recording

    for config in configs:
        if missing_recording(config) is not None:
            raise ConfigError(f"tasks: neural/{config.data}: "
                              f"{missing_recording_message(config.data, config.data_root)}")


def _takes_encoder(name: str) -> bool:
    return split_task_setting(name)[0].encoder_method is not None


def load_results(path: str | Path) -> Results:
    """The results under ``path``: a folder of ``cells/<id>/metrics.json`` (from
    :func:`evaluate` or ``mtneuro bench``), a run folder or one ``metrics.json``.

    A folder's cells that are not complete (failed or skipped), whose records do not read,
    or that the report leaves out (of an earlier suite run there, or defined otherwise by
    the suite run there last) are not in the results; a ``UserWarning`` names them.

    Raises:
        ConfigError: ``path`` is not a str or ``os.PathLike``.
        NoResultsError: ``path`` is none of these, or the record of a run that scores no
            task (``mtneuro pretrain``) (a ``ConfigError`` and a ``FileNotFoundError``).
    """
    path = results_path(path)
    if (path / "cells").is_dir():
        unreadable: list[tuple[str, str]] = []
        left_out: list[str] = []
        records = load_records(path, unreadable, left_out)
        complete = [r for r in records if r.get("status") == "complete"]
        if not complete:
            raise NoResultsError(f"load_results: {path}/cells holds no complete cell record "
                                 "(none written yet, or only failed or skipped cells)")
        others = [r for r in records if r.get("status") != "complete"]
        if others or unreadable or left_out:  # the table must not pass for the whole folder
            warnings.warn(_not_loaded_line(path, others, unreadable, left_out), stacklevel=2)
        return Results([load_result(path / r["_dir"]) for r in complete])
    if not (path / "metrics.json" if path.is_dir() else path).is_file():
        found = ("a folder with neither cells/ nor metrics.json" if path.is_dir()
                 else "no such file or folder")
        raise NoResultsError(
            f"load_results: {path}: {found}; expected a run folder holding metrics.json "
            "(mtneuro task1 ... --out), a folder of cells/<id>/metrics.json (mtneuro.evaluate "
            "out=..., mtneuro bench --out) or a metrics.json file")
    try:
        result = load_result(path)
    except (ValueError, KeyError, TypeError, AttributeError) as err:  # JSON, or another shape
        raise NoResultsError(f"load_results: {path} is not a metrics.json mtneuro wrote "
                             f"({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None
    problem = scores_no_task(result, path if path.is_dir() else path.parent, python=True)
    if problem is not None:  # a pretrain run's record would be one row with no numbers
        raise NoResultsError(f"load_results: {path}: {problem}")
    return Results([result])


def _not_loaded_line(path: Path, incomplete: list[dict[str, Any]],
                     unreadable: list[tuple[str, str]], left_out: list[str]) -> str:
    """What :func:`load_results` leaves out of ``path``'s cells, and where to see why."""
    parts = []
    if incomplete:
        cells = [(r.get("cell") or {}).get("id", r["_dir"]) for r in incomplete]
        parts.append(f"{len(incomplete)} not complete (" + _first_few(
            [f"{cell} {r.get('status') or 'of no status'}" for cell, r in zip(cells, incomplete)])
            + ")")
    if unreadable:
        parts.append(f"{len(unreadable)} unreadable ("
                     + _first_few([f"{where}: {why.splitlines()[0]}"
                                   for where, why in unreadable]) + ")")
    if left_out:  # as the report does: kept on disk, not averaged in
        parts.append(left_out_line(path, left_out))
    return (f"load_results: {path}/cells: not in these results: {'; '.join(parts)}. "
            f"`mtneuro report {path}` lists each and why; `mtneuro bench --resume` (with the "
            "suite and --out that wrote them) reruns the cells not complete or unreadable")


def _first_few(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
