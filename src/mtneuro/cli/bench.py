"""``mtneuro bench``: run a benchmark suite (every task, one command) and write its report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mtneuro.cli.options import (
    MORE_SEEDS_ARGUMENT,
    parse_key_values,
    parse_seeds,
    parse_source_params,
    seeds_option,
)
from mtneuro.cli.run_folder import RUN_RECORDS, prepare_run_folder, run_folder
from mtneuro.errors import ConfigError, MtneuroError

if TYPE_CHECKING:
    from mtneuro.bench.suite import Suite


class _Jobs(click.ParamType):
    """``--jobs``: a positive int or ``auto``."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return "auto"
        try:
            count = int(str(value))
        except ValueError:
            count = 0
        if count < 1:
            self.fail(f"expected 'auto' or an int >= 1, got {value!r}", param, ctx)
        return count


JOBS = _Jobs()


def card_lines(card: dict) -> list[str]:
    """A protocol card as indented lines: comparable, or one line per deviation; then its
    notes (a card written before notes existed has none), which are not counted."""
    from mtneuro.tasks.protocol import NOTES_HEAD

    head = f"    protocol {card['protocol']['name']} v{card['protocol']['version']}"
    if not card["deviations"]:
        lines = [f"{head}: the published protocol, comparable"]
    else:
        lines = [f"{head}, {len(card['deviations'])} deviation(s) from the reference protocol:"]
        lines += [f"      - {d}" for d in card["deviations"]]
    notes = card.get("notes") or []
    return lines + ([f"    {NOTES_HEAD}"] + [f"      - {n}" for n in notes] if notes else [])


def _print_cards(cells: list, suite_name: str, out_dir: Path, resume: bool) -> None:
    """``--dry-run``: every cell, its data and preset, what the run would do with it
    (with ``--resume``: keep it, rerun it or run it; skip it where its recording is not
    downloaded or an extra it needs is not installed), and its protocol card."""
    from mtneuro.bench.cell import cell_config
    from mtneuro.bench.ddp import ddp_deviations
    from mtneuro.bench.plan import (
        MARKS,
        NEEDS_EXTRA,
        NOT_DOWNLOADED,
        earlier_run,
        missing_extras,
        rerun_reason,
        what_changed,
        why_new,
    )
    from mtneuro.tasks.neural.task import missing_recording  # the task's own skip rule
    from mtneuro.tasks.registry import get_task

    previous = None
    counts: dict[str, int] = {}
    missing: dict[str, None] = {}  # recordings not downloaded, in order
    extras: dict[str, None] = {}  # extras not installed that cells need, in order
    reasons: dict[str, int] = {}  # why changed cells rerun, in order: the summary says so too
    for cell in cells:
        task = get_task(cell.task)
        config = cell_config(task, cell)
        data = f"source {cell.source}" if task.volume else f"recording {cell.setting}"
        preset = f", preset {cell.preset}" if cell.preset is not None else ""
        ddp = f", pre-training under torchrun x{cell.ddp_procs}" if cell.ddp_procs > 1 else ""
        earlier = earlier_run(out_dir, cell) if resume else "new"
        recording = missing_recording(config) if earlier != "kept" else None
        absent = missing_extras(task, cell) if earlier != "kept" else []
        if absent:
            extras.update(dict.fromkeys(absent))
            mark, kind = NEEDS_EXTRA.format(" and ".join(f"mtneuro[{e}]" for e in absent)), "extra"
        elif recording is not None:
            missing[recording] = None
            mark, kind = NOT_DOWNLOADED, "missing"
        else:
            mark, kind = (MARKS[earlier] if resume else ""), earlier
            if earlier == "changed":
                mark = f"rerun: {what_changed(cell, out_dir)} changed"
                reason = rerun_reason(cell, out_dir)
                reasons[reason] = reasons.get(reason, 0) + 1
            elif resume and (why := why_new(out_dir, cell)) is not None:
                mark = f"to run: {why}"
        counts[kind] = counts.get(kind, 0) + 1
        click.echo(f"{cell.id}  ({data}{preset}{ddp})" + (f"  [{mark}]" if mark else ""))
        card = task.protocol_card(config)
        card["deviations"] = [*card["deviations"], *ddp_deviations(cell, config)]
        lines = card_lines(card)
        click.echo("    (protocol card as above)" if lines == previous else "\n".join(lines))
        previous = lines
    summary = _plan_counts(counts, missing, reasons, extras)
    click.echo(f"{len(cells)} cell(s) in suite {suite_name!r}: {summary}")


def _plan_counts(counts: dict[str, int], missing: dict[str, None],
                 reasons: dict[str, int] | None = None,
                 extras: dict[str, None] | None = None) -> str:
    """``3 to run (1 rerun: config changed), 2 done earlier (kept), 15 skipped (not
    downloaded: rat-v1; ...)``: what a dry run found, parts with no cell left out; ``reasons``
    (why the changed cells rerun -> how many) names each, e.g. ``(3 rerun: 1 config
    changed, 2 encoder file changed)``, ``config`` alone when none is given."""
    to_run = counts.get("new", 0) + counts.get("changed", 0)
    parts = [f"{to_run} to run"]
    if counts.get("changed"):
        reasons = reasons or {"config": counts["changed"]}
        why = (f"{next(iter(reasons))} changed" if len(reasons) == 1 else
               ", ".join(f"{n} {reason} changed" for reason, n in reasons.items()))
        parts[0] += f" ({counts['changed']} rerun: {why})"
    if counts.get("kept"):
        parts.append(f"{counts['kept']} done earlier (kept)")
    if missing:
        parts.append(f"{counts['missing']} skipped (not downloaded: {', '.join(missing)}; "
                     "get one with `mtneuro data download NAME`)")
    if extras:
        names = ",".join(extras)
        parts.append(f"{counts['extra']} skipped (extras not installed: pip install "
                     f"\"mtneuro[{names}]\")")
    return ", ".join(parts)


def _check_cells(cells: list) -> None:
    """Every cell's config, source parameters and encoder files, as its run would check
    them (:func:`mtneuro.cli.preflight.check_config`), then each encoder spec built and run
    once (:func:`mtneuro.bench.checks.check_encoders`), before any cell runs."""
    from mtneuro.bench.cell import cell_config
    from mtneuro.bench.checks import check_encoders, check_params
    from mtneuro.bench.ddp import check_cell_ddp
    from mtneuro.cli.preflight import check_config
    from mtneuro.tasks.registry import get_task

    for cell in cells:
        check_params(cell)  # names the cell itself
        task = get_task(cell.task)
        try:
            config = cell_config(task, cell)
            check_config(config)
        except MtneuroError as err:
            raise type(err)(f"cell {cell.id}: {err}") from None
        if cell.ddp_procs > 1:
            check_cell_ddp(task, config, cell)  # names the cell itself
    check_encoders(cells)  # after the cheap checks: it builds the encoder (user code)


_OTHER_ENCODERS = {
    "neural": "neural takes a firing-rate encoder: mtneuro neural --encoder SPEC or "
              "mtneuro.evaluate",
    "task2": "task2 takes an SSL checkpoint through its ssl-unet model",
}


def _say_where_the_encoder_goes(suite: str, tasks: list[str], image_tasks: tuple[str, ...]) -> None:
    """``--encoder`` is scored on the suite's image-probing tasks only: fail when it has
    none, and name the tasks it skips, so a missing row is never a surprise."""
    tasks = list(dict.fromkeys(tasks))
    scored = [t for t in tasks if t in image_tasks]
    skipped = [t for t in tasks if t not in image_tasks]
    why = "; ".join(_OTHER_ENCODERS.get(t, f"{t} probes no frozen encoder") for t in skipped)
    if not scored:
        raise ConfigError(f"--encoder: suite {suite!r} has no task that probes an image encoder "
                          f"({', '.join(image_tasks)}), only {', '.join(tasks)} ({why})")
    if skipped:
        click.echo(f"--encoder: scored on {', '.join(scored)}; not on {', '.join(skipped)} ({why})",
                   err=True)


def _check_no_source(spec: Suite, source: str | None, source_params: tuple[str, ...],
                     tasks: list[str]) -> None:
    """A suite whose tasks read no volume takes no volume source, from the command line
    or its own ``source`` / ``source_params`` (the default ``source: phantom`` aside)."""
    from mtneuro.bench.suite import Suite

    default = Suite.__dataclass_fields__["source"].default
    given = (("--source", source) if source else ("--source-param", source_params[0])
             if source_params else ("suite key source", spec.source) if spec.source != default
             else ("suite key source_params", spec.source_params) if spec.source_params
             else None)
    if given is not None:
        key, value = given
        raise ConfigError(f"{key}: no task of suite {spec.name!r} reads the volume (its tasks: "
                          f"{', '.join(dict.fromkeys(tasks))}); remove it (got {value!r})")


def _say_the_report_is_stale(out_dir: Path) -> None:
    """A stopped run builds no report, so the one OUT holds is the previous run's: its rows
    may lack cells this run finished, or hold cells this run redefined (``--resume``)."""
    if (out_dir / "report.html").is_file():
        click.echo(f"{out_dir / 'report.html'} and leaderboard.md are those of the previous run "
                   f"until `mtneuro report {out_dir}` or --resume rebuilds them", err=True)


@click.command()
@click.option("--suite", default="quick", show_default=True,
              help="Built-in suite (quick, neural, paper) or a suite YAML file.")
@click.option("--source", help="Volume source of the imaging tasks (phantom, slice, bossdb, cache; "
                               "slice has no pixel labels: task1 only); default: the suite's.")
@click.option("--source-param", "source_params", multiple=True, metavar="KEY=VALUE",
              help="Source parameter, repeatable (e.g. seed=1).")
@click.option("--encoder", metavar="SPEC",
              help="Your image encoder: module:callable, checkpoint file, registered or "
                   "entry-point name; adds an 'encoder' row to every task of the suite that "
                   "probes frozen image encoders (task1, task3).")
@seeds_option("the suite's seeds")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory: cells/<id>/metrics.json, report.html (self-contained), "
                   "leaderboard.md, report_figures/ (the summary charts as PNG files); "
                   "submitit/ (job logs) with --executor submitit-local or slurm.")
@click.option("--resume", is_flag=True,
              help="Keep the cells already complete in OUT ('done earlier'); a cell whose "
                   "config, encoder file (SHA-256) or encoder weights (those a module:callable "
                   "or name builds) changed since its record is rerun, saying so.")
@click.option("--overwrite", is_flag=True, help="Replace the suite run OUT already holds "
                                               f"(its {', '.join(RUN_RECORDS['bench'])}).")
@click.option("--jobs", type=JOBS, default=None, metavar="N|auto",
              help="Cells run at once (processes): N, or 'auto' (one per CPU this process may "
                   "use, 1 with a GPU). Default: the suite's (quick, neural: auto; paper: 1).")
@click.option("--executor", type=click.Choice(["local", "slurm", "submitit-local"]), default="local",
              show_default=True, help="Where cells run: this machine, SLURM via submitit, or "
                                      "submitit's local executor.")
@click.option("--executor-param", "executor_params", multiple=True, metavar="KEY=VALUE",
              help="submitit parameter, repeatable (e.g. slurm_partition=gpu timeout_min=600 "
                   "gpus_per_node=1).")
@click.option("--ddp-procs", type=click.IntRange(min=1), default=None,
              help="Run the SSL pre-training of cells that pre-train an encoder (task1/task3 "
                   "byol, myow, myow-merged) under torchrun with N processes on the cell's "
                   "machine; 1: in the cell's process. Default: the suite's ddp.")
@click.option("--dry-run", is_flag=True,
              help="Check what the run checks before it starts (cell configs, source names "
                   "and parameters, encoder files, OUT; the encoder built once, its 2D/3D "
                   "inputs checked against each cell's task and one forward pass run on a "
                   "batch of zeros; no server is contacted), list the "
                   "cells with their protocol cards (how each departs "
                   "from the published protocol) and what the run would do with each (skip "
                   "it: recording not downloaded; with --resume: keep, rerun or run it), and "
                   "exit.")
@click.option("--quiet", is_flag=True, help="No live table.")
@MORE_SEEDS_ARGUMENT
def bench(suite: str, source: str | None, source_params: tuple[str, ...], encoder: str | None,
          seeds: tuple[str, ...], more_seeds: tuple[str, ...], out_dir: Path, resume: bool,
          overwrite: bool, jobs: int | str | None,
          executor: str, executor_params: tuple[str, ...], ddp_procs: int | None, dry_run: bool,
          quiet: bool) -> None:
    """Evaluate methods (and your encoder) on every task and write a report with published baselines.

    Each (task, setting, method, seed) cell writes OUT/cells/<id>/metrics.json;
    a failed cell is recorded and the suite goes on; Ctrl-C stops, and --resume
    then runs only the missing cells. At the end OUT/report.html and
    OUT/leaderboard.md are (re)built. Examples:

    \b
        mtneuro bench --suite quick --out runs/quick
        mtneuro bench --suite quick --encoder mypkg.enc:build --out runs/mine
        mtneuro bench --suite paper --source bossdb --executor slurm \\
            --executor-param slurm_partition=gpu --executor-param gpus_per_node=1 --out runs/paper
    """
    from mtneuro.bench.executors import check_executor
    from mtneuro.bench.progress import DONE_EARLIER
    from mtneuro.bench.runner import RunOptions, run_suite, sigterm_as_interrupt
    from mtneuro.bench.suite import expand, load_suite
    from mtneuro.bench.windows import refuse_ddp
    from mtneuro.report.html import build_report
    from mtneuro.report.suite_cells import left_out_line
    from mtneuro.tasks.registry import get_task, task_names

    spec = load_suite(suite)
    all_seeds = parse_seeds(seeds, more_seeds)
    # --encoder is an image encoder: it joins the tasks that probe one
    image_tasks = tuple(n for n in task_names() if get_task(n).encoder == "image")
    cells = expand(spec, source=source, seeds=tuple(all_seeds) if all_seeds else None,
                   encoder=encoder, encoder_tasks=image_tasks, ddp_procs=ddp_procs)
    if encoder:
        _say_where_the_encoder_goes(spec.name, [c.task for c in cells], image_tasks)
    if not any(get_task(c.task).volume for c in cells):
        _check_no_source(spec, source, source_params, [c.task for c in cells])
    if source_params:
        extra = parse_source_params(source_params)
        cells = [type(c)(**{**c.to_dict(), "source_params": {**c.source_params, **extra}}) for c in cells]
    refuse_ddp(cells, "--ddp-procs" if ddp_procs is not None else None)  # Windows
    _check_cells(cells)
    submitit_params = parse_key_values(executor_params, "--executor-param")
    check_executor(executor, submitit_params)  # --dry-run too, before OUT is touched
    if dry_run:
        prepare_run_folder(out_dir, "bench", resume=resume, overwrite=overwrite, dry_run=True)
        _print_cards(cells, spec.name, out_dir, resume)
        return
    options = RunOptions(out_dir=out_dir, resume=resume, jobs=spec.jobs if jobs is None else jobs,
                         executor=executor,
                         executor_params=submitit_params, quiet=quiet, suite=spec.name)
    # the suite --overwrite replaces is set aside until this one has its report
    with run_folder(out_dir, "bench", resume=resume, overwrite=overwrite), \
            sigterm_as_interrupt():  # `kill` stops the workers too, as Ctrl-C does
        try:
            states = run_suite(cells, options)
        except KeyboardInterrupt:
            _say_the_report_is_stale(out_dir)
            raise
        left_out: list[str] = []
        paths = build_report(out_dir, left_out=left_out)
    failed = [s for s in states if s.status == "failed"]
    not_run = [s for s in states if s.status == "skipped"]
    earlier = sum(s.status == "earlier" for s in states)
    done = sum(s.status == "complete" for s in states) + earlier
    # "done earlier", as the per-cell lines call the complete cells --resume kept
    kept = f" ({earlier} {DONE_EARLIER})" if earlier else ""
    click.echo(f"{done}/{len(states)} cell(s) complete{kept}, {len(failed)} failed, "
               f"{len(not_run)} skipped; report: {paths['html']}, leaderboard: {paths['markdown']}")
    reasons: dict[str, list[str]] = {}
    for state in not_run:
        reasons.setdefault(str(state.error), []).append(state.cell.id)
    for reason, ids in reasons.items():
        click.echo(f"  skipped {len(ids)} cell(s) ({ids[0]}{', ...' if len(ids) > 1 else ''}): {reason}", err=True)
    for state in failed:
        click.echo(f"  failed {state.cell.id}: {state.error}", err=True)
    if left_out:
        click.echo(f"  {left_out_line(out_dir, left_out)}", err=True)
    if failed:
        # SystemExit, not click's Exit: main() runs click with standalone_mode=False, which
        # turns Exit into a discarded return value.
        sys.exit(1)
