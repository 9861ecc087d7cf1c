"""``mtneuro data preview``: a PNG of a source's region map and one labelled tile per region,
or of a volume file of one's own as pre-training will see it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mtneuro.cli.options import (
    SOURCE_OPTION,
    SOURCE_PARAM_OPTION,
    open_cli_source,
    parse_source_params,
)

if TYPE_CHECKING:
    from mtneuro.report.preview_volume import VolumeView


@click.command()
@SOURCE_OPTION
@SOURCE_PARAM_OPTION
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG file to write.",
)
@click.option(
    "--z", type=int, default=None,
    help="Slice to show; default the middle of the task depth (volume: the middle slice read).",
)
def preview(source: str, source_params: tuple[str, ...], out: Path, z: int | None) -> None:
    """Write a preview PNG: the whole slice with its region map and the four region boxes,
    then each region's box with its microstructure labels overlaid (scale bar in um).

    With --source volume (your own file, --source-param path=FILE and the tile, z_step and
    window pre-training will get): slice --z (default the middle one read) in 8 bits as
    pre-training sees it, with its tile grid; the histogram of its raw values with the window
    and the share clipped below and above it; a few of its tiles. Prints the tile count and
    the clipped shares. A 16-bit or float volume without a window is shown with the window
    pre-training's refusal would suggest.

    \b
    Examples:
      mtneuro data preview --source phantom --out preview.png
      mtneuro data preview --source slice --out slice.png
      mtneuro data preview --source volume --source-param path=stack.tif \\
          --source-param window=100:3000 --source-param tile=64 --out stack.png
    """
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.errors import ConfigError

    if not out.suffix:
        out = out.with_suffix(".png")  # what would be written anyway; now the message says so
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: expected a .png file, got a {out.suffix} name")
    check_writable_folder(out.parent, "--out")  # before the source is read
    existed = out.is_file()
    if source == "volume":
        click.echo(_preview_volume_file(source_params, out, z, existed))
        return
    from mtneuro.report.preview import render_preview

    path = render_preview(open_cli_source(source, source_params), out, z=z)
    click.echo(f"{'replaced' if existed else 'wrote'} {path}")


def volume_file_view(source_params: tuple[str, ...], z: int | None = None) -> VolumeView:
    """The ``--source volume`` file of ``source_params`` as pre-training reads it
    (:func:`mtneuro.report.preview_volume.read_volume_view`), its keys checked as
    pre-training checks them (``data preview`` and ``data info``)."""
    from mtneuro.cli.preflight import check_source_params
    from mtneuro.report.preview_volume import read_volume_view

    params = parse_source_params(source_params)
    check_source_params("volume", params, vision=True)  # the keys pre-training takes
    return read_volume_view(params, z)


def _preview_volume_file(source_params: tuple[str, ...], out: Path, z: int | None,
                         existed: bool) -> str:
    """Write the preview of a volume file; the line to print."""
    from mtneuro.report.preview_volume import preview_line, render_volume_preview

    view = volume_file_view(source_params, z)
    return preview_line(view, render_volume_preview(view, out), existed)
