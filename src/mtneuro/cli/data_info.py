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

    With --source volume (your own file, --source-param path=FILE, and the tile, z_step and
    window pre-training will get): its shape, dtype, value range, window and tile count.

    \b
    Examples:
      mtneuro data info --source phantom --source-param seed=1
      mtneuro data download xray-slice --root DIR
      mtneuro data info --source slice --source-param root=DIR
      mtneuro data info --source volume --source-param path=stack.tif --source-param tile=32
    """
    if source == "volume":  # a file, not a volume source: no region boxes nor z splits
        from mtneuro.cli.data_preview import volume_file_view
        from mtneuro.report.preview_volume import volume_info_lines

        lines = volume_info_lines(volume_file_view(source_params))
    else:
        lines = info_lines(open_cli_source(source, source_params))
    for line in lines:
        click.echo(line)
