"""Checking the chunks of a cache: what ``mtneuro data verify`` counts and repairs.

Every chunk on disk is checked against its checksum, and every chunk the cache's record
says was stored (:mod:`mtneuro.data.sources.cache_record`) is checked too: one whose chunk
and checksum files are both gone is *missing*, like a chunk whose checksum is left, not
"never fetched". Only chunks never stored count as never fetched. A cache without a
record (made by an older mtneuro) cannot tell the two apart: its report says so, and
:func:`start_record` starts one from the chunks on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mtneuro.data.sources.cache_lock import map_chunks
from mtneuro.data.sources.cache_store import ChunkStore, Key

if TYPE_CHECKING:
    from mtneuro.data.sources.cache import CacheSource


@dataclass
class VerifyReport:
    """Outcome of :meth:`CacheSource.scan <mtneuro.data.sources.cache.CacheSource.scan>`.

    Attributes:
        ok: chunks whose file matches the recorded checksum.
        corrupted: ``(channel, key)`` of chunks with a missing or mismatched checksum.
        missing: chunks stored once and gone: a checksum but no chunk file, or (in the
            cache's record of stored chunks) neither.
        unfilled: chunks never fetched (normal for a lazily filled cache); without a record
            (``record`` not ``""``) this also counts stored chunks that were lost.
        temp_files: leftovers of killed writers.
        record: ``""`` when the cache's record of stored chunks was read; ``"absent"`` (a
            cache made before records) or ``"damaged"`` when not.
        refetched: the bad chunks :meth:`CacheSource.repair` fetched again (not those another
            process repaired meanwhile); empty until then.
    """

    ok: int = 0
    corrupted: list[tuple[str, Key]] = field(default_factory=list)
    missing: list[tuple[str, Key]] = field(default_factory=list)
    unfilled: int = 0
    temp_files: list[Path] = field(default_factory=list)
    record: str = ""
    refetched: list[tuple[str, Key]] = field(default_factory=list)

    @property
    def bad(self) -> list[tuple[str, Key]]:
        return self.corrupted + self.missing


def scan_cache(cache: CacheSource, progress: bool = False) -> VerifyReport:
    """Check every chunk on disk or in the record of ``cache`` (reads all of them)."""
    from tqdm.auto import tqdm

    store = cache.store
    stored, problem = store.record.read()
    report = VerifyReport(temp_files=store.temp_files(), record=problem)
    jobs = [(c, k) for c in cache.channels
            for k in sorted(store.keys_on_disk(c) | (stored or {}).get(c, set()))]
    total = len(cache.channels) * int(np.prod(store.grid))
    with tqdm(
        total=len(jobs), desc="verify", unit="chunk", disable=None if progress else True
    ) as bar:
        statuses = map_chunks(lambda job, _: store.status(*job), jobs, cache.workers, bar)
    unfilled = 0
    for job, status in zip(jobs, statuses):
        if status == "ok":
            report.ok += 1
        elif status == "corrupted":
            report.corrupted.append(job)
        elif status == "missing" or job[1] in (stored or {}).get(job[0], ()):
            report.missing.append(job)  # neither file left of a chunk once stored
        else:
            unfilled += 1  # listed on disk, gone since, and never recorded
    report.unfilled = total - len(jobs) + unfilled
    return report


def start_record(store: ChunkStore, report: VerifyReport) -> int | None:
    """Start the record of stored chunks of a cache that has none (or a damaged one, which
    is replaced) from the chunks on disk and those ``report`` found bad (being repaired).

    Returns:
        Chunks marked, or None when another process started the record meanwhile.
    """
    if report.record == "damaged":
        try:
            store.record.remove()
        except OSError:
            return None
    stored: dict[str, set[Key]] = {c: store.keys_on_disk(c) for c in store.channels}
    for channel, key in report.bad:
        stored[channel].add(key)
    try:
        if not store.record.start(stored):
            return None
    except OSError:  # a cache that cannot be written: scanned as before
        return None
    return sum(len(keys) for keys in stored.values())

