"""Options shared by the commands, parsed one way: sources, seeds, KEY=VALUE pairs, presets,
and :func:`run_task`, the one path from a command's values to a recorded task run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mtneuro.cli.preflight import check_seeds
from mtneuro.errors import ConfigError

SOURCE_OPTION = click.option(
    "--source",
    default="phantom",
    show_default=True,
    help="Volume source: phantom, slice, bossdb or cache; or volume, a volume file of your "
         "own (--source-param path=FILE).",
)
#: ``--source`` of a command that also reads a config file: unset, the file's value or the
#: config's default applies (a flag default would always win over the file).
TASK_SOURCE_OPTION = click.option(
    "--source",
    default=None,
    help="Volume source: phantom, slice, bossdb or cache.  [default: phantom]",
)
SOURCE_PARAM_OPTION = click.option(
    "--source-param",
    "source_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Source parameter, repeatable (e.g. seed=1 for phantom, root=DIR for cache).",
)


def parse_key_values(pairs: tuple[str, ...] | list[str], option: str = "--source-param",
                     ) -> dict[str, Any]:
    """``("seed=1", "root=/data")`` -> ``{"seed": 1, "root": "/data"}``.

    Values that parse as JSON (numbers, ``true``, lists) keep that type; anything
    else stays a string. A key given twice is refused. ``option`` names the flag in errors.
    """
    params: dict[str, Any] = {}
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{option}: expected KEY=VALUE, got {pair!r}")
        if key in given:  # the first value would be dropped without a word
            raise ConfigError(f"{option} {key}: given twice ({given[key]!r} and {pair!r}); "
                              "give each key once")
        given[key] = pair
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def parse_source_params(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``--source-param`` pairs (see :func:`parse_key_values`)."""
    return parse_key_values(pairs, "--source-param")


def open_cli_source(name: str, pairs: tuple[str, ...] | list[str]):
    """Open source ``name`` with ``--source-param`` pairs.

    Every mistake (unknown source or parameter, bad value) is a one-line :class:`ConfigError`
    or another :class:`~mtneuro.errors.MtneuroError` from the source itself.
    """
    from mtneuro.cli.preflight import check_source_params
    from mtneuro.data.sources import SOURCE_NAMES, open_source
    from mtneuro.registry import check_choice

    check_choice("source", name, SOURCE_NAMES)
    params = parse_source_params(pairs)
    check_source_params(name, params)
    return open_source(name, **params)


def seeds_option(default: str) -> Callable[[Any], Any]:
    """``--seeds S [S ...]``, its help naming what runs without it (``default``): the
    commands differ (task 1 and 3 run three seeds, task 2 one), so a bare command's cost is
    not left to guess."""
    return click.option("--seeds", multiple=True, metavar="S [S ...]",
                        help=f"Seeds, e.g. --seeds 0 1 2 (or 0,1,2, or --seeds repeated); "
                             f"one run each. Default: {default}.")
#: The values after the first of ``--seeds 0 1 2`` arrive as arguments.
MORE_SEEDS_ARGUMENT = click.argument("more_seeds", nargs=-1, metavar="")


def parse_seeds(seeds: tuple[str, ...] | list[str] | str | None,
                extra: tuple[str, ...] | list[str] = ()) -> list[int] | None:
    """Seeds from ``--seeds 0 1 2`` (the values after the first arrive as ``extra``
    arguments), ``--seeds 0,1,2``, ``--seeds "0 1 2"`` or a repeated ``--seeds``; ``None``
    when not given. Every command that takes seeds parses them here."""
    seeds = (seeds,) if isinstance(seeds, str) else tuple(seeds or ())
    if not seeds:
        if extra:
            raise ConfigError(f"unexpected arguments: {' '.join(extra)} (use --seeds 0 1 2)")
        return None
    values = [v for part in (*seeds, *extra) for v in str(part).replace(",", " ").split()]
    try:
        if not values:
            raise ValueError
        parsed = [int(v) for v in values]
    except ValueError:
        given = " ".join(map(str, (*seeds, *extra)))
        raise ConfigError(f"--seeds: expected integers, got {given!r}") from None
    if len(set(parsed)) != len(parsed):
        raise ConfigError(f"--seeds: expected distinct seeds, got {' '.join(values)!r}")
    check_seeds(parsed)
    return parsed


# Options of the volume tasks (task1, task3) that learn or load an encoder.
ENCODER_OPTION = click.option(
    "--encoder",
    default=None,
    metavar="SPEC",
    help="checkpoint path, module:callable or encoder name (method encoder; SSL methods)",
)
OVERWRITE_OPTION = click.option(
    "--overwrite", is_flag=True,
    help="Replace the run OUT already holds (its records are removed first).")


def volume_run_options(config_name: str):
    """The last options of the volume tasks' commands (task1, task3), in this order:
    ``--pretrain-epochs``, ``--device``, ``--config FILE`` (a YAML file of ``config_name``
    keys, under the flags), ``--out``, ``--overwrite`` and the seeds after the first."""
    options = (
        click.option("--pretrain-epochs", type=click.IntRange(min=1), default=None,
                     help="epochs of on-the-fly SSL pre-training"),
        click.option("--device", default=None,
                     help="cpu, cuda, cuda:N, mps (not to pre-train on the fly) or auto  "
                          "[default: cpu]"),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            default=None,
            help=f"YAML file of {config_name} keys; flags win",
        ),
        click.option(
            "--out", type=click.Path(file_okay=False), required=True, help="output folder"
        ),
        OVERWRITE_OPTION,
        MORE_SEEDS_ARGUMENT,
    )

    def decorate(command):
        for option in reversed(options):  # as if stacked in this order above the command
            command = option(command)
        return command

    return decorate


def quick_option(description: str):
    """``--quick``: the task's ``quick`` preset (``description`` says what it sets)."""
    return click.option("--quick", is_flag=True, help=f"quick preset: {description}")


def require_option(key: str, value: Any, config_file: str | Path | None) -> None:
    """``--KEY`` is given, as a flag or as ``KEY:`` in the ``--config`` file: a config's
    default (a task's method) is no choice the user made, and a key without one (a neural
    run's recording) is better asked for as the option it is.

    Raises:
        click.UsageError: neither gives it (one line, as click's own missing option).
    """
    from mtneuro.config import load_yaml_mapping

    if value is None and (config_file is None or key not in load_yaml_mapping(config_file)):
        raise click.UsageError(f"Missing option '--{key}' (or {key}: in the --config file).")


def run_task(name: str, preset: str | None, values: dict[str, Any], out: str | Path, *,
             config_file: str | Path | None = None, resume: bool = False,
             overwrite: bool = False) -> Any:
    """A task command's run: the task's config from ``preset``, the YAML file and the
    command's ``values`` (:meth:`~mtneuro.tasks.api.Task.make_config`), checked with
    :func:`~mtneuro.cli.preflight.check_config`, its output folder with
    :func:`~mtneuro.cli.run_folder.run_folder` (all before any data is read),
    then run and recorded in ``out`` (``metrics.json`` and figures,
    :func:`mtneuro.report.record.run_and_record`). A config that names an encoder spec
    records, as a bench cell does, the encoder it read under ``inputs``: a file's SHA-256
    under ``files``, the weights fingerprint of a ``module:callable`` or name under
    ``encoders`` (:func:`mtneuro.bench.cell.encoder_fingerprints`).

    Returns:
        The :class:`~mtneuro.tasks.api.Result`.
    """
    from mtneuro.bench.cell import encoder_inputs
    from mtneuro.cli.preflight import check_config
    from mtneuro.cli.run_folder import run_folder
    from mtneuro.report.record import run_and_record
    from mtneuro.tasks.registry import get_task

    task = get_task(name)
    config = task.make_config(preset, values, config_file)
    check_config(config)
    with run_folder(out, "resumable-task" if task.resumable else "task", resume=resume,
                    overwrite=overwrite):
        # after the folder check: building the encoder may take a while
        inputs = encoder_inputs(getattr(config, "encoder", None))
        return run_and_record(task, config, Path(out), resume=resume,
                              extra={"inputs": inputs} if inputs else None)
