"""Run one bench cell and record it in ``DIR/cells/<id>/metrics.json``.

A cell is one run of a task of the contract (:mod:`mtneuro.tasks.api`): its config is
the task's (:meth:`~mtneuro.tasks.api.Task.cell_config`: the cell's setting, method and
seed over its ``params``, preset, source and encoder), and it is run and recorded by
:func:`mtneuro.report.record.run_and_record` like any task command. The record (a
:class:`~mtneuro.tasks.api.Result`: config, data source, metrics, headline, protocol
card, figures) also holds:

* in ``config``, for a cell with ``ddp_procs`` > 1: ``ddp``, how its SSL pre-training
  ran under torchrun (:mod:`mtneuro.bench.ddp`; ``null`` when the cell's config
  pre-trained nothing, e.g. an ``encoder`` was given);
* ``bench_schema_version``: version of the keys below;
* ``status``: ``"complete"``, ``"failed"`` or ``"skipped"`` (the task raised
  :class:`~mtneuro.tasks.api.RunSkipped`, e.g. a recording that is not downloaded;
  ``skip_reason`` says why);
* ``cell``: the cell definition (task, setting, method, seed, preset, params,
  source, encoder, ``ddp_procs`` when > 1), used by ``--resume`` to tell a finished
  cell from a changed one;
* ``headline``: the leaderboard numbers;
* ``inputs``: data read: volume source and parameters, under ``files`` the encoder
  files (``--encoder`` or an ``encoder`` param naming a file) and their SHA-256, and under
  ``encoders`` the weights fingerprint of the other encoder specs (``module:callable``,
  registered or entry-point name: :func:`encoder_fingerprints`), which ``--resume``
  compares (a changed checkpoint, or a ``build()`` that now loads other weights, under the
  same name reruns the cell), and that of an encoder :func:`mtneuro.evaluate` was given in
  memory, under its label (the SHA-256 of its ``state_dict``): what
  :func:`recorded_weights` reads back, so no two encoders' cells mix in one folder;
* ``figures``: PNGs of the cell, relative to its directory;
* ``error``: type, one-line message and traceback of a failed cell (one that called
  ``sys.exit``: ``SystemExit``, "exited with SystemExit(code)");
* ``host``: where it ran (cells may run on several machines and be merged);
* ``shared_pretraining``, only where the cell's SSL encoder was loaded from the suite's
  ``shared_encoders/``, pre-trained by another cell with the same settings and tiles
  (:mod:`mtneuro.tasks.pretrain.shared`): ``{"reused": true, "files": [...]}``.

The protocol card is judged on the cell's own config and the data source it read (a
cache by what filled it). :func:`run_cell` is a top-level function of plain arguments
so process pools and submitit can ship it to another process or machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import platform
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtneuro.bench.ddp import card_of_ddp_cell, ddp_deviations
from mtneuro.bench.suite import Cell
from mtneuro.config import to_dict
from mtneuro.data.checksums import sha256_file
from mtneuro.extras import MissingExtraError
from mtneuro.registry import import_object
from mtneuro.report.record import run_and_record, write_result
from mtneuro.report.results import read_json_object, write_metrics
from mtneuro.tasks.api import RunSkipped, Task
from mtneuro.threads import limit_blas_threads

if TYPE_CHECKING:
    from mtneuro.tasks.pretrain.shared import SharedEncoders

BENCH_SCHEMA_VERSION = 1
CELLS_DIR = "cells"
#: Folder of the suite's output where its cells keep and reuse the SSL encoders they
#: pre-train on the fly (:mod:`mtneuro.tasks.pretrain.shared`).
SHARED_ENCODERS_DIR = "shared_encoders"


def cell_dir(out_dir: str | Path, cell_id: str) -> Path:
    return Path(out_dir) / CELLS_DIR / cell_id


def read_record(out_dir: str | Path, cell_id: str) -> dict[str, Any] | None:
    """The cell's ``metrics.json``, or ``None`` if absent, unreadable (e.g. cut by a crash)
    or not a JSON object."""
    return read_json_object(cell_dir(out_dir, cell_id) / "metrics.json")


def is_complete(out_dir: str | Path, cell: Cell) -> bool:
    """A complete record of exactly this cell exists (a changed definition must rerun)."""
    return record_is_complete(read_record(out_dir, cell.id), cell)


def record_is_complete(record: dict[str, Any] | None, cell: Cell) -> bool:
    """``record`` (:func:`read_record`) is a complete one of exactly ``cell`` and of the
    encoder files and weights it reads now."""
    return (
        record is not None
        and record.get("bench_schema_version") == BENCH_SCHEMA_VERSION
        and record.get("status") == "complete"
        and record.get("cell") == json.loads(json.dumps(cell.to_dict()))
        and not files_changed(record, cell)
        and not weights_changed(record, cell)
    )


@functools.lru_cache(maxsize=32)
def _sha256(path: str, _mtime_ns: int, _size: int) -> str:
    # keyed by modification time and size too: a file rewritten in place is hashed again
    return sha256_file(path)


def _specs(cell: Cell) -> tuple[Any, ...]:
    """The encoder specs a cell reads: its ``--encoder`` and an ``encoder`` param."""
    return cell.encoder, cell.params.get("encoder")


def encoder_inputs(specs: Any) -> dict[str, Any]:
    """A record's ``inputs`` keys for encoder ``specs`` (one, several, ``None``): ``files``
    and ``encoders`` as a cell's (:func:`encoder_files`, :func:`encoder_fingerprints`)."""
    specs = (specs,) if isinstance(specs, str) or specs is None else tuple(specs)
    files, weights = _spec_files(specs), _spec_fingerprints(specs)
    return {**({"files": files} if files else {}), **({"encoders": weights} if weights else {})}


def encoder_files(cell: Cell) -> dict[str, str]:
    """``{path as given: SHA-256}`` of the encoder files the cell reads: its ``--encoder``
    and an ``encoder`` param, where they name files (a ``module:callable`` or a registered
    name is code, not a file)."""
    return _spec_files(_specs(cell))


def _spec_files(specs: tuple[Any, ...]) -> dict[str, str]:
    files = {}
    for spec in specs:
        if isinstance(spec, str) and os.path.isfile(spec):
            stat = os.stat(spec)
            files[spec] = _sha256(os.path.abspath(spec), stat.st_mtime_ns, stat.st_size)
    return files


def files_changed(record: dict[str, Any], cell: Cell) -> bool:
    """The encoder files of ``cell`` differ from those ``record`` read (a record written
    before files were recorded, by a cell that reads one, counts as changed)."""
    inputs = record.get("inputs")
    recorded = inputs.get("files", {}) if isinstance(inputs, dict) else {}
    return recorded != encoder_files(cell)


def _code_specs(specs: tuple[Any, ...]) -> list[str]:
    """The encoder specs that name no file: built by code, so fingerprinted by weights (an
    in-memory encoder's label from :func:`mtneuro.evaluate` names nothing buildable)."""
    return [spec for spec in dict.fromkeys(specs)
            if isinstance(spec, str) and spec and not os.path.isfile(spec)
            and not spec.endswith("(in memory)")]


def encoder_fingerprints(cell: Cell) -> dict[str, str | None]:
    """``{spec: SHA-256 of the built encoder's state_dict}`` for the cell's encoder specs that
    are code, not files (``module:callable``, registered or entry-point name); ``None``
    where the spec does not build (the cell itself then fails, saying why)."""
    return _spec_fingerprints(_specs(cell))


def _spec_fingerprints(specs: tuple[Any, ...]) -> dict[str, str | None]:
    fingerprints: dict[str, str | None] = {}
    for spec in _code_specs(specs):
        built = build_encoder(spec)
        fingerprints[spec] = None if isinstance(built, BaseException) else built.fingerprint
    return fingerprints


def weights_changed(record: dict[str, Any], cell: Cell) -> bool:
    """The weights of the cell's code-built encoders differ from those ``record`` read (a
    record written before weights were fingerprinted, of a cell with such an encoder,
    counts as changed: its encoder may have been edited since)."""
    inputs = record.get("inputs")
    recorded = inputs.get("encoders", {}) if isinstance(inputs, dict) else {}
    return recorded != encoder_fingerprints(cell)


def recorded_weights(record: dict[str, Any]) -> dict[str, str | None]:
    """The encoder files and weights ``record`` read: ``{path or spec: SHA-256}`` of its
    ``inputs``' ``files`` and ``encoders`` (``{}``: a cell of no encoder, or one recorded
    before they were kept)."""
    inputs = record.get("inputs")
    if not isinstance(inputs, dict):
        return {}
    return {key: value for part in ("files", "encoders") if isinstance(inputs.get(part), dict)
            for key, value in inputs[part].items()}


@dataclasses.dataclass(frozen=True)
class BuiltEncoder:
    """An encoder spec resolved once (:func:`build_encoder`): the module, its input spec
    and the fingerprint of its weights (the SHA-256 of its ``state_dict``'s names, dtypes,
    shapes and bytes: :func:`~mtneuro.checkpoint_io.content_digest`)."""

    module: Any
    input_spec: dict[str, Any]
    fingerprint: str


def build_encoder(spec: str) -> BuiltEncoder | Exception:
    """``spec`` resolved (:func:`mtneuro.models.resolve_encoder_at_seed`: seed 0, the
    caller's random state untouched) once per process, or the error resolving it raised
    (kept too: a callable that fails after seconds fails once). A file is keyed by its time
    and size too, a relative spec by the working folder: either may name another encoder
    later.
    """
    try:
        stat = os.stat(spec)
        key: tuple[Any, ...] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = ()
    return _build(spec, os.getcwd(), key)


@functools.lru_cache(maxsize=16)
def _build(spec: str, _cwd: str, _key: tuple[Any, ...]) -> BuiltEncoder | Exception:
    import warnings

    from mtneuro.checkpoint_io import content_digest
    from mtneuro.models import resolve_encoder_at_seed

    with warnings.catch_warnings():
        # the registered-name "random weights" warning belongs to the cell's own run
        warnings.simplefilter("ignore")
        try:
            module, input_spec = resolve_encoder_at_seed(spec)
        except Exception as exc:  # noqa: BLE001 - the user's code: any error is the answer
            return exc
    return BuiltEncoder(module, input_spec, content_digest(module.state_dict()))


def _task(ref: Task | str) -> Task:
    return ref if isinstance(ref, Task) else import_object(ref, "task")


def volume_source(cell: Cell) -> tuple[str, dict[str, Any]]:
    """The volume source a cell's config reads: its source and parameters, those of its
    ``params`` over the cell's own."""
    return cell.source, {**cell.source_params, **cell.params.get("source_params", {})}


def cell_config(task: Task, cell: Cell) -> Any:
    """The task config of ``cell``: its ``params``, its source (the cell's parameters
    under those of ``params``), encoder and ``quiet``, then its setting, method and seed."""
    values: dict[str, Any] = dict(cell.params)
    fields = {f.name for f in dataclasses.fields(task.config_class)}
    if task.volume:
        values["source"], values["source_params"] = volume_source(cell)
    if cell.encoder and "encoder" in fields:  # a neural encoder is passed in memory
        values["encoder"] = cell.encoder
    if "quiet" in fields:
        values["quiet"] = True
    return task.cell_config(cell.setting, cell.method, cell.seed, preset=cell.preset,
                            values=values)


def _host() -> dict[str, Any]:
    return {"node": platform.node(), "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


def bench_keys(cell: Cell, status: str, *, in_memory: str | None = None,
               **more: Any) -> dict[str, Any]:
    """The keys a cell adds to its record (see the module docstring); ``in_memory``: the
    fingerprint of the encoder given in memory (:func:`~mtneuro.checkpoint_io.content_digest`
    of its ``state_dict``), recorded under the cell's encoder label."""
    encoders = encoder_inputs(_specs(cell))
    if in_memory is not None:
        encoders["encoders"] = {**encoders.get("encoders", {}), str(cell.encoder): in_memory}
    inputs = {"source": cell.source, "params": cell.source_params, **encoders}
    return {"bench_schema_version": BENCH_SCHEMA_VERSION, "status": status,
            "cell": cell.to_dict(), "inputs": inputs, "error": None, "host": _host(), **more}


def _write_unrun(out_dir: str | Path, cell: Cell, status: str, *,
                 config: dict[str, Any] | None, wall_s: float | None,
                 card: dict[str, Any] | None = None, **more: Any) -> None:
    """Write the record of a cell that has no result (``status`` failed or skipped)."""
    write_metrics(cell_dir(out_dir, cell.id), task=cell.task, metrics={}, config=config or {},
                  source={"source": cell.source, "params": cell.source_params}, wall_s=wall_s,
                  extra={**(card or {}), "setting": cell.setting, "method": cell.method,
                         **bench_keys(cell, status, headline={}, figures=[], **more)})


def record_failure(out_dir: str | Path, cell: Cell, exc: BaseException, *, wall_s: float | None,
                   config: dict[str, Any] | None = None, tb: str | None = None,
                   card: dict[str, Any] | None = None, message: str | None = None
                   ) -> dict[str, Any]:
    """Write a failed cell's record (``message``: instead of the exception's first line);
    returns the runner's one-line summary of it."""
    if message is None:
        message = (str(exc).strip().splitlines() or [""])[0]
    error = {"type": type(exc).__name__, "message": message,
             "traceback": tb if tb is not None else "".join(traceback.format_exception(exc))}
    _write_unrun(out_dir, cell, "failed", config=config, wall_s=wall_s, card=card, error=error)
    return {"id": cell.id, "status": "failed", "wall_s": wall_s, "headline": {},
            "error": f"{error['type']}: {message}"}


def record_skipped(out_dir: str | Path, cell: Cell, reason: str,
                   config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a skipped cell's record (its data is not here); the runner's summary of it."""
    _write_unrun(out_dir, cell, "skipped", config=config, wall_s=None, skip_reason=reason)
    return {"id": cell.id, "status": "skipped", "wall_s": None, "headline": {}, "error": reason}


def _shared_encoders(out_dir: str | Path, cell: Cell,
                     ) -> contextlib.AbstractContextManager[SharedEncoders | None]:
    """The suite's store of on-the-fly pre-trained encoders (none for a DDP cell)."""
    from mtneuro.tasks.pretrain.shared import shared_pretraining

    return (contextlib.nullcontext() if cell.ddp_procs > 1
            else shared_pretraining(Path(out_dir) / SHARED_ENCODERS_DIR))


def shared_pretraining_keys(store: SharedEncoders | None) -> dict[str, Any]:
    """The record's ``shared_pretraining`` key when the cell's encoders were loaded from the
    suite's store instead of pre-trained in the cell (``{}`` when none was)."""
    if store is None or not store.served:
        return {}
    files = [f"{SHARED_ENCODERS_DIR}/{store.path(key).name}" for key in store.served]
    return {"shared_pretraining": {"reused": True, "files": files}}


def run_cell(cell: Cell, task: Task | str, out_dir: str | Path, *, threads: int | None = None,
             encoder: Any = None) -> dict[str, Any]:
    """Build the cell's config, run its task, write its record; never raises for a task error.

    Args:
        cell: what to run.
        task: the task, or its ``"module:attribute"`` (:func:`task_ref`).
        out_dir: the suite's output directory.
        threads: torch CPU threads for this cell (parallel cells share the cores).
        encoder: an encoder in memory for the task's encoder method (in-process runs).

    Returns:
        ``{"id", "status", "wall_s", "headline", "error"}`` for the runner's table.
    """
    import sys

    if threads:
        # Parallel cells share the cores; the variables cover torch if it is imported later.
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        limit_blas_threads(threads)  # numpy's BLAS took every core when it loaded
    started = time.perf_counter()
    directory = cell_dir(out_dir, cell.id)
    directory.mkdir(parents=True, exist_ok=True)
    config_dict: dict[str, Any] = {}
    card: dict[str, Any] | None = None
    try:
        spec = _task(task)
        config = cell_config(spec, cell)
        config_dict, card = to_dict(config), spec.protocol_card(config)
        card["deviations"] = [*card["deviations"], *ddp_deviations(cell, config)]
        ddp = None
        if cell.ddp_procs > 1:
            from mtneuro.bench.ddp import pretrain_under_torchrun

            config_dict["ddp"] = {"nproc_per_node": cell.ddp_procs}  # kept if the launch fails
            run_config, ddp = pretrain_under_torchrun(spec, config, cell, directory,
                                                      threads=threads)
        else:
            run_config = config
        extra = bench_keys(cell, "complete")
        with _shared_encoders(out_dir, cell) as store:
            # between the run and its record: says whether the encoder was loaded, not trained
            result = run_and_record(spec, run_config, directory, encoder=encoder,
                                    started=started, extra=extra,
                                    keep=lambda _: extra.update(shared_pretraining_keys(store)))
    except KeyboardInterrupt:
        raise  # stop the suite; no record, so --resume reruns this cell
    except (RunSkipped, MissingExtraError) as skip:  # data not downloaded; an extra missing
        return record_skipped(out_dir, cell, str(skip), config_dict)
    except SystemExit as exc:
        # user code calling sys.exit, or SIGTERM to a worker during a DDP launch (ddp._wait):
        # this cell failed; uncaught, it ended the whole bench with no record or report
        return record_failure(out_dir, cell, exc, wall_s=time.perf_counter() - started,
                              config=config_dict, card=card,
                              message=f"exited with SystemExit({exc.code!r})")
    except Exception as exc:  # noqa: BLE001 - any task error is recorded and the suite goes on
        return record_failure(out_dir, cell, exc, wall_s=time.perf_counter() - started,
                              config=config_dict, card=card)
    if cell.ddp_procs > 1:
        # the card judges the cell's own config, not the encoder DDP wrote; the lines only
        # the run could know (a class no readout sees, ...) stay
        result.config = {**result.config, "ddp": ddp}
        result.card = card_of_ddp_cell(spec.protocol_card(config, result.source), result.card,
                                       spec.protocol_card(run_config, result.source),
                                       ddp_deviations(cell, config))
        write_result(result, directory)
    return {"id": cell.id, "status": "complete", "wall_s": result.wall_s,
            "headline": result.headline, "error": None}
