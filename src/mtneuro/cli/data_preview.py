"""``mtneuro data preview``: a PNG of a source's region map and one labelled tile per region."""

from __future__ import annotations

from pathlib import Path

import click

from mtneuro.cli.options import SOURCE_OPTION, SOURCE_PARAM_OPTION, open_cli_source


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
    "--z", type=int, default=None, help="Slice to show; default the middle of the task depth."
)
def preview(source: str, source_params: tuple[str, ...], out: Path, z: int | None) -> None:
    """Write a preview PNG: the whole slice with its region map and the four region boxes,
    then each region's box with its microstructure labels overlaid (scale bar in um).

    \b
    Examples:
      mtneuro data preview --source phantom --out preview.png
      mtneuro data preview --source slice --out slice.png
    """
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.errors import ConfigError
    from mtneuro.report.preview import render_preview

    if not out.suffix:
        out = out.with_suffix(".png")  # what would be written anyway; now the message says so
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: expected a .png file, got a {out.suffix} name")
    check_writable_folder(out.parent, "--out")  # before the source is read
    existed = out.is_file()
    path = render_preview(open_cli_source(source, source_params), out, z=z)
    click.echo(f"{'replaced' if existed else 'wrote'} {path}")
