"""``mtneuro report DIR``: rebuild a suite's report.html and leaderboard.md from its cell files,
or those of one task command's run from its metrics.json."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR")
@click.option("--no-published", is_flag=True, help="Leave out the published rows.")
def report(out_dir: Path, no_published: bool) -> None:
    """Rebuild DIR/report.html and DIR/leaderboard.md from DIR/cells/*/metrics.json, or,
    where DIR is the folder of one task command's run (mtneuro task1 --out DIR, ...), from
    DIR/metrics.json.

    Cells may come from several runs or machines (copy their cells/ folders into
    DIR); every row names its data source and published numbers stay in separate,
    labelled rows and chart panels. report.html embeds every figure, so it can be
    copied or mailed alone; the summary charts are also written to DIR/report_figures/.
    """
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.report.html import build_report
    from mtneuro.report.suite_cells import left_out_line

    check_writable_folder(out_dir, "DIR")  # before any figure is drawn
    unreadable: list[tuple[str, str]] = []
    left_out: list[str] = []
    paths = build_report(out_dir, published=not no_published, unreadable=unreadable,
                         left_out=left_out)
    click.echo(f"wrote {paths['html']} and {paths['markdown']}")
    if left_out:  # an earlier suite's records: kept on disk, not averaged in (not an error)
        click.echo(left_out_line(out_dir, left_out), err=True)
    for where, why in unreadable:
        click.echo(f"left out {where}: {why}", err=True)
    if unreadable:
        sys.exit(1)  # as bench does for a failed cell: a script sees that something is missing
