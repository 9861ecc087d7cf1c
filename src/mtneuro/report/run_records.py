"""A task command's run as leaderboard records (what :func:`mtneuro.load_results` tables and
``mtneuro report RUN`` read).

A run of ``mtneuro task1 --seeds 0 1 2`` writes one ``metrics.json`` whose numbers are
means over its seeds, with each seed's numbers in its ``per_seed`` rows. Its record is one
cell (:func:`cell_record`) that also carries each seed's headline (``seed_headlines``, read
by :func:`seed_headlines`), so its leaderboard row counts the seeds and their spread, as the
one-cell-per-seed records of a bench do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.errors import DataError
from mtneuro.report.record import load_result
from mtneuro.report.results import read_json_object
from mtneuro.report.row_names import method_name
from mtneuro.tasks.api import Result, resolve

#: what ``mtneuro report DIR`` writes of a suite's or a task run's records: it describes the
#: run, so it goes with it (a report left behind by ``--overwrite`` or
#: ``mtneuro.evaluate(..., overwrite=True)`` would describe the old run)
REPORT = ("report.html", "leaderboard.md", "report_figures")


def cell_record(result: Result) -> dict[str, Any]:
    """``result``'s record shaped as a bench cell's: a task command's record (no ``cell``) is
    one complete cell ``<task>-<setting>`` whose folder (``_dir``, where its figures are) is
    the one reported, with ``seed_headlines`` where it has several seeds to read. A run of
    method ``encoder`` names its config's encoder spec in its cell, as a bench cell's
    ``encoder`` does, so its row and figure captions say which encoder it scored."""
    record = result.to_json()
    cell = record.get("cell") or _run_cell(result)
    seeds = recorded_seeds(record.get("config"))
    if "seed" not in cell and len(seeds) == 1:  # its figures draw that seed: captions say so
        cell = {**cell, "seed": seeds[0]}
    record = {**record, "cell": cell, "status": record.get("status", "complete"), "_dir": "."}
    seeds = None if result.record.get("cell") else seed_headlines(result)
    if seeds is not None:
        record["seed_headlines"] = [headline for _, headline in seeds]
    return record


def _run_cell(result: Result) -> dict[str, Any]:
    """The cell of a task command's record, which has none: its task, setting and method,
    with the encoder spec of a method-``encoder`` run (the id names it too: captions are
    ``<id>: <figure>``, and two runs of different encoders must not read alike)."""
    cell = {"task": result.task, "setting": result.setting, "method": result.method,
            "id": f"{result.task}-{result.setting}"}
    spec = result.config.get("encoder") if isinstance(result.config, dict) else None
    # as a bench cell: only method encoder is labelled by its encoder (an SSL method given
    # a checkpoint, or task 2's ssl-unet, keeps its method's row)
    if result.method == "encoder" and isinstance(spec, str) and spec:
        cell["encoder"] = spec
        cell["id"] += f" ({method_name(cell)})"
    return cell


def recorded_seeds(config: Any) -> list[Any]:
    """The seeds a run's recorded ``config`` ran: its ``seeds``, or its one ``seed``
    (``mtneuro neural``'s config); ``[]`` where it names none."""
    if not isinstance(config, dict):
        return []
    if config.get("seeds"):
        return list(config["seeds"])
    return [config["seed"]] if config.get("seed") is not None else []


def seed_headlines(result: Result) -> list[tuple[Any, dict[str, float | None]]] | None:
    """``(seed, headline)`` of each seed of a multi-seed record, read from its ``per_seed``
    rows: by the task's ``seed_metrics`` (task 2, neural), else where they hold every
    headline value at the place the aggregate holds its mean (tasks 1 and 3); ``None`` for
    one seed, or where a headline value is not read from the rows (the record then counts
    as one value)."""
    from mtneuro.tasks.registry import get_task

    rows = result.metrics.get("per_seed")
    if not isinstance(rows, list) or len(rows) < 2 or not all(isinstance(r, dict) for r in rows):
        return None
    task = get_task(result.task)
    try:
        if task.seed_metrics is not None:
            seed_metrics = resolve(task.seed_metrics, f"task {task.name} seed_metrics")
            headlines = [task.headline_of(seed_metrics(result.metrics, row)) for row in rows]
        # a headline number that stays with no row to read is not a seed's (a plain mean in
        # the aggregate): every seed would repeat it
        elif any(v is not None for v in task.headline_of(_at_seed(result.metrics, {})).values()):
            return None
        else:
            headlines = [task.headline_of(_at_seed(result.metrics, row)) for row in rows]
    except (KeyError, TypeError, ValueError):  # a task whose rows are shaped otherwise
        return None
    out = []
    for row, headline in zip(rows, headlines):
        if any(headline.get(k) is None and v is not None for k, v in result.headline.items()):
            return None
        out.append((row.get("seed"), headline))
    return out


def _at_seed(aggregate: Any, row: Any) -> Any:
    """``aggregate`` with each ``{"mean", "std", "n"}`` replaced by ``row``'s number at the
    same place (``{"mean": None}`` where ``row`` has none)."""
    if isinstance(aggregate, dict) and {"mean", "std", "n"} <= set(aggregate):
        number = isinstance(row, (int, float)) and not isinstance(row, bool)
        return {"mean": float(row) if number else None, "std": None, "n": 1}
    if isinstance(aggregate, dict):
        return {k: _at_seed(v, row.get(k) if isinstance(row, dict) else None)
                for k, v in aggregate.items()}
    return aggregate


def load_run_record(run_dir: str | Path) -> dict[str, Any]:
    """The record of a task command's run folder, ``run_dir/metrics.json``, as one cell
    (:func:`cell_record`), its figures also those of its seeds' folders (``seed-<S>/``,
    where ``mtneuro neural`` draws them).

    Raises:
        DataError: the file is not a record this version reads, or that of a run which
            scores no benchmark task (``mtneuro pretrain``); the message says which.
    """
    path = Path(run_dir) / "metrics.json"
    try:
        result = load_result(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:  # JSON, or shape
        reason = str(err).splitlines()[0][:160] if str(err) else ""
        raise DataError(f"{path}: not the record of a task command's run that this version "
                        f"reads ({type(err).__name__}: {reason})") from None
    problem = scores_no_task(result, run_dir)
    if problem is not None:
        raise DataError(f"{path}: {problem}")
    record = cell_record(result)
    for seed in recorded_seeds(record["config"]):  # `mtneuro neural`'s seed-<S>/ folders
        seed_record = read_json_object(Path(run_dir) / f"seed-{seed}" / "metrics.json") or {}
        names = seed_record.get("figures") if isinstance(seed_record.get("figures"), list) else []
        record["figures"] += [f"seed-{seed}/{name}" for name in names if isinstance(name, str)]
    return record


def scores_no_task(result: Result, run_dir: str | Path, *, python: bool = False) -> str | None:
    """Why the record of the run in ``run_dir`` is no leaderboard record: its run scores no
    benchmark task (``mtneuro pretrain``), with how to score a pretrain run's encoder (the
    Python spelling with ``python``, else the command line's); ``None`` where it scores one."""
    from mtneuro.tasks.registry import task_names

    if result.task in task_names():
        return None
    encoder = Path(run_dir) / "encoder.pt"
    how = ""
    if result.task == "pretrain" and python:
        how = (f": to score its encoder, evaluate it (mtneuro.evaluate({str(encoder)!r}, "
               "tasks=['task1/roi-c1']))")
    elif result.task == "pretrain":
        how = f": to report its encoder, give it to a task (`--method encoder --encoder {encoder}`)"
    return (f"the record of a `mtneuro {result.task}` run, which scores no benchmark task "
            f"({', '.join(task_names())}){how}")


def run_line(record: dict[str, Any]) -> str:
    """One line saying that a report's cell is one task command's run
    (:func:`load_run_record`) and what its row's n counts."""
    seeds = recorded_seeds(record["config"])
    if len(seeds) < 2:
        over = ""
    elif record.get("seed_headlines"):
        over = f"; its row's n counts its seeds ({', '.join(map(str, seeds))})"
    else:  # a record whose seeds' numbers cannot be read from it
        over = (f"; its values are the run's means over seeds {', '.join(map(str, seeds))}, "
                "n counts the run")
    return f"the cell is one `mtneuro {record['task']}` run (its metrics.json){over}"
