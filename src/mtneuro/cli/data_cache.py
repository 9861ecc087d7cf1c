"""``mtneuro data fetch`` and ``mtneuro data verify``: fill and check a local cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mtneuro.cli.options import parse_source_params
from mtneuro.errors import ChecksumError, ConfigError

if TYPE_CHECKING:
    from mtneuro.data.sources.cache_metadata import MetadataCheck
    from mtneuro.data.sources.cache_store import ChunkStore, Key

#: chunks named per state by ``data verify``; the rest are counted ("... and N more").
SHOWN = 10


def parse_range(axis: str, text: str | None) -> tuple[int, int] | None:
    """``"a:b"`` -> ``(a, b)``; ``None`` stays ``None`` (the whole axis).

    Raises:
        ConfigError: not two ints, or a negative or empty range: refused here, for every
            source, so that a remote one is not asked (and retried) for nothing.
    """
    if text is None:
        return None
    try:
        lo, hi = (int(v) for v in text.split(":"))
    except ValueError:
        raise ConfigError(f"--{axis}: expected START:STOP (ints), got {text!r}") from None
    if lo < 0:
        raise ConfigError(f"--{axis}: expected START:STOP with START >= 0, got {text!r}")
    if lo >= hi:
        raise ConfigError(f"--{axis}: range {text!r} is empty, expected START below STOP")
    return lo, hi


@click.command()
@click.option(
    "--source", help="Upstream source (phantom, slice, bossdb); default: the one the cache records."
)
@click.option(
    "--source-param",
    "source_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Upstream parameter, repeatable (e.g. host=127.0.0.1:8000, protocol=http, seed=0).",
)
@click.option(
    "--cache",
    "cache_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache directory (a Zarr v3 store; created if new).",
)
@click.option("--z", "z_range", metavar="A:B", help="Half-open z range; default all.")
@click.option("--y", "y_range", metavar="A:B", help="Half-open y range; default all.")
@click.option("--x", "x_range", metavar="A:B", help="Half-open x range; default all.")
@click.option("--channels", help="Comma-separated channels; default all of the source.")
@click.option(
    "--workers",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Chunks fetched in parallel.",
)
@click.option(
    "--chunk-shape", metavar="Z,Y,X", help="Chunk shape of a new cache (default 16,512,512)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def fetch(
    source: str | None,
    source_params: tuple[str, ...],
    cache_dir: Path,
    z_range: str | None,
    y_range: str | None,
    x_range: str | None,
    channels: str | None,
    workers: int,
    chunk_shape: str | None,
    quiet: bool,
) -> None:
    """Fill a local cache with a block of a source, chunk by chunk.

    Chunks already present and valid are kept, so an interrupted fetch resumes
    where it stopped. Example:

    \b
        mtneuro data fetch --source bossdb --cache ~/mtneuro-cache \\
            --z 110:470 --y 500:1156 --x 1543:4856
    """
    from mtneuro.cli.preflight import check_source_params
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.data.sources.cache_fetch import fill_cache

    params = parse_source_params(source_params)
    if source is not None:
        check_source_params(source, params)
    ranges = [parse_range(a, r) for a, r in zip("zyx", (z_range, y_range, x_range))]
    check_writable_folder(cache_dir, "--cache")
    wanted = list(dict.fromkeys(c.strip() for c in channels.split(","))) if channels else None
    cache, report = fill_cache(
        cache_dir,
        upstream=source,
        upstream_params=params or None,
        chunk_shape=chunk_shape,
        workers=workers,
        ranges=ranges,
        channels=wanted,
        progress=not quiet,
    )
    click.echo(
        f"cache {cache_dir}: fetched {report.fetched} chunk(s), {report.present} already present "
        f"({', '.join(wanted or cache.channels)})"
    )


@click.command()
@click.option(
    "--cache",
    "cache_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache directory to check.",
)
@click.option(
    "--repair/--no-repair",
    default=True,
    show_default=True,
    help="Fetch damaged or missing chunks again from the recorded upstream.",
)
@click.option(
    "--source-param",
    "source_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Parameter of the recorded upstream for the repair, repeatable: where it is served "
    "(host=127.0.0.1:8000, protocol=http) or how (timeout=60); the data must be the cache's.",
)
@click.option(
    "--workers",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Chunks checked or fetched in parallel.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify(
    cache_dir: Path, repair: bool, source_params: tuple[str, ...], workers: int, quiet: bool
) -> None:
    """Check a cache's metadata and every chunk against its recorded SHA-256.

    First the Zarr metadata files are compared with the spec recorded at creation
    (with --repair, damaged ones are rewritten from it; a format-1 cache is upgraded:
    its checksums are re-recorded with their chunk's position). Then prints the counts
    of ok, corrupted (checksum missing, different, or naming another chunk) and
    missing (stored once, now without data: a checksum left, or neither file of a chunk
    the cache's record says it stored) chunks, and names the first 10 of each (file and
    voxel ranges); with --repair (default) fetches the bad ones again and names them.
    Chunks never fetched into the cache are counted, not checked. Exits non-zero if
    damage remains. A cache made by an older mtneuro has no record: its lost chunks
    count as never fetched, and --repair starts a record. A repair of a cache this user
    may not write is refused before anything is fetched: check it with --no-repair.
    """
    from mtneuro.cli.preflight import check_source_params
    from mtneuro.data.sources import open_source
    from mtneuro.data.sources.cache_metadata import check_metadata
    from mtneuro.data.sources.cache_store import ChunkStore
    from mtneuro.data.sources.cache_verify import start_record

    if not cache_dir.is_dir():
        raise ConfigError(f"--cache: {cache_dir} does not exist (or is not a folder); "
                          "fill one with: mtneuro data fetch --cache DIR ...")
    if not ChunkStore.exists(cache_dir):
        raise ConfigError(f"--cache: {cache_dir} is not an mtneuro cache (no zarr.json); to check "
                          f"the real datasets of a data root: mtneuro data list --root {cache_dir}")
    check = check_metadata(cache_dir)
    params = parse_source_params(source_params)
    if params and check.spec is not None:  # a bad one fails before anything is rewritten
        check_source_params(check.spec["upstream"]["source"], params)
    _check_metadata(cache_dir, check, repair)
    cache = open_source("cache", root=cache_dir, workers=workers, upstream_params=params or None)
    report = cache.scan(progress=not quiet)
    click.echo(
        f"cache {cache_dir}: ok {report.ok}, corrupted {len(report.corrupted)}, "
        f"missing {len(report.missing)} (never fetched {report.unfilled}, "
        f"temporary files {len(report.temp_files)})"
    )
    for state, jobs in (("corrupted", report.corrupted), ("missing", report.missing)):
        _list_chunks(cache.store, state, jobs, ranges=True)
    if report.record and report.unfilled:
        _say_unrecorded(cache_dir, report.record, report.unfilled, repair)
    elif report.unfilled:
        # A lazily filled cache holds a small part of the volume: a bare count of the rest
        # reads like damage.
        click.echo(f"cache {cache_dir}: never fetched {report.unfilled} = chunks of the volume "
                   f"({len(cache.channels)} channel(s)) not fetched into this cache: no damage "
                   "(verify checks only the chunks it fetched)")
    if repair and report.record:
        started = start_record(cache.store, report)
        if started is not None:
            click.echo(f"cache {cache_dir}: started its record of stored chunks ({started} "
                       "chunk(s)): chunks lost from now on are reported missing")
    if not report.bad and not (repair and report.temp_files):
        return
    if not repair:
        raise ChecksumError(
            f"{len(report.bad)} damaged chunk(s) in {cache_dir} left as they are; "
            f"run: mtneuro data verify --cache {cache_dir} --repair"
        )
    _check_repairable(cache_dir, _chunk_folders(cache.store, report.bad))
    fixed = cache.repair(report, progress=not quiet)
    _list_chunks(cache.store, "re-fetched", report.refetched, ranges=False)
    still = [job for job in report.bad if cache.store.status(*job) != "ok"]
    if still:
        _list_chunks(cache.store, "still damaged", still, ranges=False)
        raise ChecksumError(f"{len(still)} chunk(s) in {cache_dir} are still damaged after repair")
    click.echo(
        f"repaired {fixed} chunk(s) from {cache.store.upstream['source']}; "
        f"removed {len(report.temp_files)} temporary file(s)"
    )


def _list_chunks(store: ChunkStore, state: str, jobs: list[tuple[str, Key]],
                 ranges: bool) -> None:
    """One line per chunk in ``state``, the first :data:`SHOWN` of them: its file under the
    cache (``image/c/0/1/2``) and, with ``ranges``, the voxels it holds, as ``data fetch``
    takes them, so a user can look at or fetch again exactly the bad ones."""
    for channel, key in jobs[:SHOWN]:
        where = ", ".join(f"{a} {lo}:{hi}" for a, (lo, hi) in zip("zyx", store.bounds(key)))
        click.echo(f"  {state} {_chunk_name(store, channel, key)}"
                   + (f" ({where})" if ranges else ""))
    if len(jobs) > SHOWN:
        click.echo(f"  ... and {len(jobs) - SHOWN} more {state} chunk(s)")


def _chunk_name(store: ChunkStore, channel: str, key: Key) -> str:
    """The chunk's file relative to the cache (its Zarr chunk key), e.g. ``image/c/0/1/2``."""
    return store.chunk_path(channel, key).relative_to(store.root).as_posix()


def _say_unrecorded(cache_dir: Path, problem: str, unfilled: int, repair: bool) -> None:
    """Say that chunks counted as never fetched were not checked: without a record of the
    chunks the cache stored, a lost one cannot be told from one never fetched."""
    why = ("its record of stored chunks (mtneuro_fetched) is damaged" if problem == "damaged"
           else "it has no record of the chunks it stored (made by an older mtneuro)")
    then = "" if repair else f"; start one with: mtneuro data verify --cache {cache_dir} --repair"
    click.echo(f"cache {cache_dir}: the {unfilled} never fetched chunk(s) were not checked: "
               f"{why}, so chunks lost from it count as never fetched{then}")


def _check_metadata(cache_dir: Path, check: MetadataCheck, repair: bool) -> None:
    """Report damaged metadata (or a format-1 cache); rewrite it from the spec with ``repair``."""
    from mtneuro.data.sources.cache_store import ChunkStore

    if check.spec is None:
        raise ChecksumError(
            f"cache {cache_dir}: {check.problem}; it cannot be repaired: fetch the data again "
            "into a new directory"
        )
    if not (check.damaged or check.legacy):
        return
    if not repair:
        what = (
            "has format 1 (checksums that do not name their chunk)"
            if check.legacy
            else f"has damaged metadata ({', '.join(check.damaged)})"
        )
        raise ChecksumError(
            f"cache {cache_dir} {what}, left as it is; "
            f"run: mtneuro data verify --cache {cache_dir} --repair"
        )
    from mtneuro.data.sources.cache_lock import directory_lock
    from mtneuro.data.sources.cache_metadata import check_metadata

    _check_repairable(cache_dir)
    # Opening a cache holds the same lock while it reads the metadata, so no process sees it
    # half rewritten; checked again under the lock, a repair another process has just made
    # is not made twice.
    with directory_lock(cache_dir, make=False):
        check = check_metadata(cache_dir)
        if not (check.damaged or check.legacy):
            click.echo(f"cache {cache_dir}: metadata repaired meanwhile by another process")
            return
        upgraded = ChunkStore.repair_metadata(cache_dir, check)
    if check.legacy:
        click.echo(f"cache {cache_dir}: upgraded to format 2: re-recorded {upgraded} checksum(s)")
    click.echo(
        f"cache {cache_dir}: rewrote metadata {', '.join(check.damaged)} from the recorded spec"
    )


def _chunk_folders(store: ChunkStore, jobs: list[tuple[str, Key]]) -> list[Path]:
    """The folders a repair of ``jobs`` writes in: each chunk's and its checksum's."""
    return [p.parent for c, k in jobs for p in (store.chunk_path(c, k), store.checksum_path(c, k))]


def _check_repairable(cache_dir: Path, folders: Sequence[Path] = ()) -> None:
    """Before a repair fetches or rewrites anything, as ``data fetch`` checks its --cache: the
    cache and the ``folders`` it writes in (or their nearest existing parents) may be written.

    Raises:
        DataError: one line naming the folder that refused and how to check without repairing.
    """
    from mtneuro.errors import DataError
    from mtneuro.writable import nearest_existing, write_refusal

    for folder in dict.fromkeys([cache_dir, *(nearest_existing(f) for f in folders)]):
        refusal = write_refusal(folder)
        if refusal is not None:
            raise DataError(
                f"cache {cache_dir}: cannot repair it: cannot write in {folder} "
                f"({refusal.strerror or refusal}); check it without repairing with: mtneuro "
                f"data verify --cache {cache_dir} --no-repair (or repair it as a user who may "
                "write it)")
