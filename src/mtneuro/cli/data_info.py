"""``mtneuro data info``: what a volume source is, its extent and the task geometry."""

from __future__ import annotations

import json

import click

from mtneuro.cli.options import SOURCE_OPTION, SOURCE_PARAM_OPTION, open_cli_source


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
      mtneuro data download xray-slice --root DIR
      mtneuro data info --source slice --source-param root=DIR
    """
    for line in info_lines(open_cli_source(source, source_params)):
        click.echo(line)
