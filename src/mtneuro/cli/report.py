"""``mtneuro report DIR``: rebuild a suite's report.html and leaderboard.md from its cell files."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR")
@click.option("--no-published", is_flag=True, help="Leave out the published rows.")
def report(out_dir: Path, no_published: bool) -> None:
    """Rebuild DIR/report.html and DIR/leaderboard.md from DIR/cells/*/metrics.json.

    Cells may come from several runs or machines (copy their cells/ folders into
    DIR); every row names its data source and published numbers stay in separate,
    labelled rows and chart panels. report.html embeds every figure, so it can be
    copied or mailed alone; the summary charts are also written to DIR/report_figures/.
    """
    from mtneuro.report.html import build_report

    paths = build_report(out_dir, published=not no_published)
    click.echo(f"wrote {paths['html']} and {paths['markdown']}")
