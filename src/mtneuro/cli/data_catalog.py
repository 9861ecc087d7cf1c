"""``mtneuro data list`` and ``mtneuro data download NAME``: the real-dataset catalogue."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from mtneuro.data.catalog import CATALOG
from mtneuro.data.catalog_files import (
    can_verify,
    check_at,
    file_report,
    replace_with_copy,
    verified_copy,
)
from mtneuro.data.paths import candidate_roots

_STATE_STYLE = {
    "verified": "green",
    "unverified": "yellow",
    "checksum mismatch": "red",
    "unreadable": "red",
    "missing": "dim",
}


def _root_option(help_text: str, exists: bool = False):
    return click.option("--root", type=click.Path(file_okay=False, exists=exists, path_type=Path),
                        default=None, help=help_text)


@click.command("list")
@_root_option("Also look in this data root (a folder `data download --root` fills), before "
              "all others.", exists=True)
def list_datasets(root: Path | None) -> None:
    """Print every known real dataset, where each file is found and whether it verifies.

    Files are looked up in the same order as loaders use: --root, $MTNEURO_DATA,
    the user cache directory, then the samples packaged with mtneuro. Each file that
    fails its check is named below the table with its reason (expected and actual
    SHA-256, truncated, unreadable).

    Exit status: 0 when every file found verifies (or has no known SHA-256; a dataset
    not downloaded is no failure), 1 when a file found fails its check (a loader would
    refuse it), 2 for a usage error.
    """
    from rich.console import Console
    from rich.table import Table

    table = Table(title="mtneuro real datasets", show_lines=False)
    for column in ("dataset", "file", "licence", "found in", "status"):
        table.add_column(column, overflow="fold", no_wrap=column != "file")
    failed = []
    for dataset in CATALOG.values():
        licence = dataset.licence.split(" ")[0]
        for index, file in enumerate(dataset.files):
            status = file_report(file, root)
            if status.failed:
                failed.append(status)
            table.add_row(
                dataset.name if index == 0 else "",
                file.relative,
                licence if index == 0 else "",
                status.root_label or "-",
                f"[{_STATE_STYLE[status.state]}]{status.state}[/]",
            )
    console = Console()
    if not console.is_terminal:  # piped: rich would wrap at 80 columns and fold every path
        console = Console(width=160)
    console.print(table)
    for status in failed:  # plain text: a reason may hold brackets; one line each, for grep
        console.print(f"{status.state}: {status.path}: {status.reason}", markup=False,
                      highlight=False, soft_wrap=True)
    # a root that is no folder (a stale $MTNEURO_DATA, a user cache not made yet) holds nothing
    order = "; ".join(f"{label} {base}" + ("" if base.is_dir() else " (no such folder)")
                      for label, base in candidate_roots(root))
    console.print(f"Lookup order: {order}", markup=False, highlight=False, soft_wrap=True)
    console.print("Get one with: mtneuro data download NAME [--root DIR]")
    if failed:
        # SystemExit, not click's Exit: main() runs click with standalone_mode=False, which
        # turns Exit into a discarded return value
        # a download without --root would fill $MTNEURO_DATA or the user cache, and the bad
        # file under the user's root would still be found first
        damaged = [s for s in failed if s.state != "unreadable"]  # a download cannot fix
        in_root = root is not None and any(s.path is not None and s.path.is_relative_to(root)
                                           for s in damaged)  # permissions: the user can
        download = "mtneuro data download NAME" + (f" --root {root}" if in_root else "")
        permissions = "fix the permissions of the unreadable (or of their folders)"
        fix = (f"replace them with: {download}" if len(damaged) == len(failed)
               else permissions if not damaged
               else f"replace the damaged with: {download}; {permissions}")
        click.echo(f"error: {len(failed)} file(s) fail their check (listed above); {fix}",
                   err=True)
        sys.exit(1)


@click.command("download")
@click.argument("name")
@_root_option("Data root to download into (default: $MTNEURO_DATA, else the user cache).")
@click.option("--retries", type=click.IntRange(1, 20), default=4, show_default=True,
              help="Tries per file; each retry resumes the partial download.")
@click.option("--timeout", type=click.FloatRange(min=1.0), default=30.0, show_default=True,
              help="Seconds to wait for the server.")
def download(name: str, root: Path | None, retries: int, timeout: float) -> None:
    """Download dataset NAME from its original public URL, verify and convert it.

    Partial downloads resume; a file whose SHA-256 does not match is deleted and
    reported. See `mtneuro data list` for the names.
    """
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.data.download import DEFAULT_POLICY, default_download_root, download_dataset
    from mtneuro.data.retry import RetryPolicy

    base = root if root is not None else default_download_root()
    # before copying or fetching anything: a read-only root fails in one line, as data fetch's
    check_writable_folder(base, "--root")
    with warnings.catch_warnings():  # a $MTNEURO_DATA not made yet: this download makes it
        warnings.filterwarnings("ignore", message=r"\$MTNEURO_DATA is .*, which is not a folder")
        copied = _copy_verified_local_files(name, base)
    policy = RetryPolicy(
        max_attempts=retries,
        max_seconds=DEFAULT_POLICY.max_seconds,
        base_delay=DEFAULT_POLICY.base_delay,
        max_delay=DEFAULT_POLICY.max_delay,
    )
    for result in download_dataset(name, base, policy=policy, timeout=timeout):
        state = "verified" if result.verified else "UNVERIFIED"
        action = ("downloaded" if result.fetched else "copied" if result.path in copied
                  else "already present")
        note = f" ({result.note})" if result.note else ""
        click.echo(f"{state:10s} {action:15s} {result.path}{note}")


def _copy_verified_local_files(name: str, base: Path) -> set[Path]:
    """Files of dataset ``name`` that verify somewhere in the lookup order (e.g. the packaged
    samples) are copied into ``base`` instead of fetched again, also over a file there that
    fails its check (atomically); returns the copies."""
    dataset = CATALOG.get(name)  # an unknown name is reported by the download itself
    copied = set()
    for file in dataset.files if dataset is not None else ():
        target = base / file.relative
        if not can_verify(file):
            continue  # no copy can verify: not worth hashing (mihi-2's raw recording is large)
        present = check_at(file, target) if target.is_file() else None
        if present is not None and not present.failed:
            continue  # verified, or nothing known to check it against: the download decides
        found = verified_copy(file, exclude=target)
        if found is None or found.path is None or not replace_with_copy(file, found.path, target):
            continue
        if present is None:
            click.echo(f"copied {file.relative} from the {found.root_label} ({found.path}), "
                       "where it verifies: no download needed")
        else:
            click.echo(f"replaced {target} ({present.state}: {present.reason}) atomically with "
                       f"the verified copy from the {found.root_label} ({found.path}): "
                       "no download needed")
        copied.add(target)
    return copied
