"""``mtneuro data info``: what a volume source is, its extent and the task geometry."""

from __future__ import annotations

import inspect
import json
from typing import Any

import click

from mtneuro.errors import ConfigError

SOURCE_OPTION = click.option(
    "--source",
    default="phantom",
    show_default=True,
    help="Volume source: phantom, slice, bossdb or cache.",
)
SOURCE_PARAM_OPTION = click.option(
    "--source-param",
    "source_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Source parameter, repeatable (e.g. seed=1 for phantom, root=DIR for slice).",
)


def parse_source_params(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("seed=1", "root=/data")`` -> ``{"seed": 1, "root": "/data"}``.

    Values that parse as JSON (numbers, ``true``, lists) keep that type; anything
    else stays a string.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--source-param: expected KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def open_cli_source(name: str, pairs: tuple[str, ...] | list[str]):
    """Open source ``name`` with ``--source-param`` pairs.

    Every mistake (unknown source or parameter, bad value) is a one-line :class:`ConfigError`
    or another :class:`~mtneuro.errors.MtneuroError` from the source itself.
    """
    import importlib

    from mtneuro.data.sources import _SOURCE_MODULES, SOURCE_NAMES, SOURCES, open_source
    from mtneuro.registry import check_choice

    check_choice("source", name, SOURCE_NAMES)
    params = parse_source_params(pairs)
    importlib.import_module(_SOURCE_MODULES[name])
    accepted = inspect.signature(SOURCES.get(name)).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ConfigError(
                f"--source-param {unknown[0]!r}: source {name!r} takes: "
                f"{', '.join(accepted) or 'nothing'}"
            )
    return open_source(name, **params)


def info_lines(source) -> list[str]:
    """Human-readable description of a source and the MTNeuro task geometry."""
    from mtneuro.data.spec import REGION_SHORT, SUBVOLUME_A, SUBVOLUME_Z, Z_SPLITS

    z, y, x = source.shape
    lines = [
        f"source:     {source.name}",
        f"shape:      {z} x {y} x {x} voxels (z, y, x)",
        f"voxel size: {source.voxel_size_um} um",
        f"channels:   {', '.join(source.channels)}",
        "region boxes (sub-volume A, half-open voxel ranges):",
    ]
    for region, box in SUBVOLUME_A.items():
        inside = box.x[1] <= x and box.y[1] <= y
        note = "" if inside else "  (outside this source)"
        lines.append(
            f"  {REGION_SHORT[region]:<4}{region:<14} "
            f"x {box.x[0]}:{box.x[1]}  y {box.y[0]}:{box.y[1]}{note}"
        )
    lines.append(f"z splits (sub-volume depth {SUBVOLUME_Z.start}:{SUBVOLUME_Z.stop}):")
    for split, rng in Z_SPLITS.items():
        note = "" if rng.stop <= z else "  (beyond this source's depth)"
        lines.append(f"  {split:<6}z {rng.start}:{rng.stop}  ({len(rng)} slices){note}")
    lines.append("describe:")
    lines.extend(
        f"  {key}: {json.dumps(value, default=str)}" for key, value in source.describe().items()
    )
    return lines


@click.command()
@SOURCE_OPTION
@SOURCE_PARAM_OPTION
def info(source: str, source_params: tuple[str, ...]) -> None:
    """Print a volume source's kind, shape, voxel size, channels, region boxes and z splits.

    \b
    Examples:
      mtneuro data info --source phantom --source-param seed=1
      mtneuro data info --source slice --source-param root=../shared/data
    """
    for line in info_lines(open_cli_source(source, source_params)):
        click.echo(line)
