"""Fixes from the data walkthrough: a record of stored chunks (lost chunks are missing, not
"never fetched"), one retry budget per fill, a cache refilled from another address, and an
absolute cache root."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
import warnings

import numpy as np
import pytest
from array_source import ArraySource, random_volume
from boss_server import BossTestServer

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache import CacheSource
from mtneuro.data.sources.cache_record import RECORD, FetchRecord
from mtneuro.errors import SourceUnavailableError

CHUNK_ARGS = ["--chunk-shape", "8,128,128"]  # 2 x 4 x 4 chunks per channel of 16 x 512 x 512


def bossdb_args(server, **params: object) -> list[str]:
    args = ["--source", "bossdb"]
    for key, value in {"host": server.host, "protocol": "http", "timeout": 5, "backoff": 0.01,
                       **params}.items():
        args += ["--source-param", f"{key}={value}"]
    return args


def fill(cli, server, root, *extra: str) -> None:
    code, out, err = cli(["data", "fetch", *bossdb_args(server), "--cache", str(root),
                          *CHUNK_ARGS, "--channels", "image,roi_labels", "--quiet", *extra])
    assert code == 0, err
    assert "fetched 64 chunk(s)" in out and server.count("cutout") == 64


def lose(root, channel: str, key: tuple[int, int, int]) -> None:
    """Remove a chunk and its checksum: no trace of it is left in the chunk folders."""
    (root / channel / "c" / "/".join(map(str, key))).unlink()
    (root / channel / "_sha256" / ".".join(map(str, key))).unlink()


# ------------------------------------------------------------ 1. lost chunks are missing
def test_a_fetched_then_lost_chunk_is_missing_and_repair_fetches_exactly_the_lost_ones(
        tmp_path, boss_server, volume, cli):
    root = tmp_path / "c"
    fill(cli, boss_server, root)
    lose(root, "image", (1, 1, 1))
    shutil.rmtree(root / "roi_labels" / "c" / "1")  # a whole z slab of one channel
    for path in (root / "roi_labels" / "_sha256").glob("1.*"):
        path.unlink()
    code, out, err = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 2 and "left as they are" in err
    # pixel_labels was never fetched: 32 chunks, not damage
    assert "ok 47, corrupted 0, missing 17 (never fetched 32, temporary files 0)" in out
    boss_server.clear()
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0, err
    assert "repaired 17 chunk(s)" in out and boss_server.count("cutout") == 17
    cache = CacheSource(root)
    for channel in ("image", "roi_labels"):
        np.testing.assert_array_equal(
            cache.read_channel(channel, (0, 16), (0, 512), (0, 512)), volume[channel])
    assert boss_server.count("cutout") == 17
    code, out, _ = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 0 and "ok 64, corrupted 0, missing 0 (never fetched 32," in out


def phantom_cache(cli, root) -> None:
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root), "--z",
                        "0:8", "--y", "0:64", "--x", "0:64", "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err


def test_a_cache_without_a_record_is_scanned_as_before_and_says_so_until_repair(
        tmp_path, cli):
    root = tmp_path / "old"
    phantom_cache(cli, root)  # 4 of the image's chunks stored
    (root / RECORD).unlink()  # as a cache made before records
    lose(root, "image", (0, 1, 1))
    code, out, _ = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    total = 3 * int(np.prod(CacheSource(root).store.grid))
    assert code == 0 and f"ok 3, corrupted 0, missing 0 (never fetched {total - 3}," in out
    assert (f"the {total - 3} never fetched chunk(s) were not checked: it has no record of the "
            "chunks it stored") in out
    assert f"start one with: mtneuro data verify --cache {root} --repair" in out
    code, out, _ = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0 and "started its record of stored chunks (3 chunk(s))" in out
    lose(root, "image", (0, 0, 0))  # lost after the record started: missing
    code, out, _ = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 2 and "ok 2, corrupted 0, missing 1 " in out and "not checked" not in out
    # a damaged record is not trusted (a false "missing" would fetch what never was)
    (root / RECORD).write_bytes(b"garbage")
    code, out, _ = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 0 and "record of stored chunks (mtneuro_fetched) is damaged" in out


def _mark_every(path: str, start: int, step: int) -> None:
    record = FetchRecord(path, ("image", "roi_labels"), (4, 8, 8))
    for index in range(start, 2 * 256, step):
        channel, rest = divmod(index, 256)
        record.mark(("image", "roi_labels")[channel], np.unravel_index(rest, (4, 8, 8)))


def test_the_record_keeps_every_mark_of_concurrent_processes(tmp_path):
    FetchRecord(tmp_path, ("image", "roi_labels"), (4, 8, 8)).reset()
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_mark_every, args=(str(tmp_path), i, 4)) for i in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    assert [p.exitcode for p in procs] == [0] * 4
    stored, problem = FetchRecord(tmp_path, ("image", "roi_labels"), (4, 8, 8)).read()
    every = {(i, j, k) for i in range(4) for j in range(8) for k in range(8)}
    assert problem == "" and stored == {"image": every, "roi_labels": every}


def test_chunks_filled_by_concurrent_readers_are_all_recorded(tmp_path, array_source):
    root = tmp_path / "c"
    CacheSource(root, upstream=array_source, chunk_shape=(8, 128, 128))
    readers = [CacheSource(root, upstream=array_source, workers=4) for _ in range(2)]
    threads = [threading.Thread(target=r.fill, kwargs={"channels": ["image"]}) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stored, _ = readers[0].store.record.read()
    assert stored["image"] == readers[0].store.keys_on_disk("image") and len(stored["image"]) == 32
    assert array_source.reads["image"] == 32  # each chunk fetched once


# ------------------------------------------------------------ 2. one budget per fill
def test_a_stalled_server_costs_one_retry_budget_per_fill_not_two(tmp_path, boss_server, cli):
    budget, timeout = 2.5, 1.0
    boss_server.inject("stall", count=None)  # every cutout unanswered past the time-out
    args = ["data", "fetch", *bossdb_args(boss_server, timeout=timeout, backoff=0,
                                          max_attempts=50, max_retry_seconds=budget),
            "--cache", str(tmp_path / "s"), *CHUNK_ARGS, "--channels", "image",
            "--workers", "2", "--quiet"]
    start = time.monotonic()
    code, _, err = cli(args)
    elapsed = time.monotonic() - start
    assert code == 2 and "unreachable" in err.splitlines()[-1]
    # tries at 0, 1 and 2 s on each of the 2 workers, then the budget is spent: the chunks
    # the workers were given next are not started (before: 2 more chunks, 3 tries each)
    assert boss_server.count("cutout") <= 6
    assert elapsed < budget + timeout + 2.0


def test_a_read_through_a_cache_raises_the_failure_not_a_cancellation(
        tmp_path, boss_server, fast_params):
    cache = open_source("cache", root=tmp_path / "r", upstream="bossdb",
                        upstream_params={**fast_params, "max_attempts": 1},
                        chunk_shape=(8, 128, 128), workers=4)
    boss_server.inject("notfound", count=1)  # one chunk fails for good; the others stop
    with pytest.raises(SourceUnavailableError, match=r"HTTP 404.*not retried") as info:
        cache.read_channel("image", (0, 16), (0, 512), (0, 512))  # 32 chunks
    assert "cancelled" not in str(info.value)
    assert boss_server.count("cutout") < 32


def test_the_shared_budget_counts_from_the_first_retry_since_the_last_answer(monkeypatch):
    from types import SimpleNamespace

    from mtneuro.data.sources import fetch_budget

    clock = [100.0]
    monkeypatch.setattr(fetch_budget, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    budget = fetch_budget.FetchBudget()
    clock[0] = 500.0  # a fill that found its first 400 s of chunks on disk: no request yet
    assert budget.deadline(10.0) == 510.0
    budget.trouble()
    clock[0] = 505.0
    budget.trouble()  # a later retry does not move the start of the trouble
    assert budget.deadline(10.0) == 510.0
    budget.answered()  # the server answered: a read starting now has the whole budget again
    assert budget.deadline(10.0) == 515.0


def test_a_long_fill_still_retries_a_late_transient_error(tmp_path, boss_server, cli):
    """The budget is shared, not counted from the fill's start: a fill longer than it still
    retries an error after many answered requests."""
    boss_server.delay_seconds = 0.05  # 16 chunks one by one: 0.8 s, longer than the budget
    fired = threading.Event()

    def fault_after_eight() -> None:
        while boss_server.count("cutout") < 8 and not fired.wait(0.005):
            pass
        boss_server.inject("error500", count=1)

    thread = threading.Thread(target=fault_after_eight, daemon=True)
    thread.start()
    code, out, err = cli(["data", "fetch", *bossdb_args(boss_server, max_retry_seconds=0.3),
                          "--cache", str(tmp_path / "l"), *CHUNK_ARGS, "--channels", "image",
                          "--z", "0:8", "--workers", "1", "--quiet"])
    fired.set()
    thread.join(5)
    assert code == 0, err
    assert "fetched 16 chunk(s)" in out and boss_server.count("cutout", "error500") == 1
    assert boss_server.count("cutout") == 17


# ------------------------------------------------------------ 3. another address
def test_a_cache_is_repaired_and_refilled_from_another_address_with_a_warning(
        tmp_path, boss_server, array_source, volume, cli):
    root = tmp_path / "c"
    fill(cli, boss_server, root)
    old = boss_server.host
    boss_server.stop()
    lose(root, "image", (0, 2, 3))
    code, _, err = cli(["data", "verify", "--cache", str(root), "--quiet",
                        "--source-param", "max_retry_seconds=0.3"])
    error = err.splitlines()[-1]  # after the warning that the server is being retried
    assert code == 2 and error.startswith("error: ") and err.count("error: ") == 1
    assert (f"was filled from bossdb at host={old} protocol=http: chunks it does not hold need "
            "that server") in err
    assert f"mtneuro data verify --cache {root.resolve()} --source-param host=..." in err
    with BossTestServer(array_source) as mirror:
        code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet",
                              "--source-param", f"host={mirror.host}"])
        assert code == 0, err
        assert err == (f"warning: cache {root.resolve()}: filled from bossdb at host={old} "
                       f"protocol=http, fetching from host={mirror.host} protocol=http now "
                       "(the same data by its description: it must serve what the first "
                       "address served)\n")
        assert "repaired 1 chunk(s)" in out and mirror.count("cutout") == 1
        code, out, err = cli(["data", "fetch", *bossdb_args(mirror), "--cache", str(root),
                              "--channels", "pixel_labels", "--z", "0:8", "--quiet"])
        assert code == 0, err
        assert "fetched 16 chunk(s)" in out and mirror.count("cutout") == 17
    np.testing.assert_array_equal(
        CacheSource(root).read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"])
    # where, not which: data that differs is still refused
    with BossTestServer(ArraySource(random_volume((16, 512, 256)))) as other:
        code, _, err = cli(["data", "fetch", *bossdb_args(other), "--cache", str(root),
                            "--channels", "pixel_labels", "--quiet"])
        assert code == 2 and "does not match the data in cache" in err


def test_a_bossdb_source_records_its_uris_and_server_data_types(boss_server, fast_params):
    info = open_source("bossdb", **fast_params).describe()
    assert info["datatypes"] == {"image": "uint8", "roi_labels": "uint64",
                                 "pixel_labels": "uint64"}


# ------------------------------------------------------------ 4. absolute root
def test_a_relative_cache_root_is_recorded_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache = open_source("cache", root="rel/c", upstream="phantom", chunk_shape="8,32,32")
    assert cache.params()["root"] == str(tmp_path.resolve() / "rel" / "c")
    assert open_source("cache", root="rel/../rel/c").params()["root"] == cache.params()["root"]
