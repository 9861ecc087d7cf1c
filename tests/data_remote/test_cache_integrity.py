"""Cache integrity beyond chunk bytes: positions, Zarr metadata, rejected fetches, old caches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from array_source import random_volume

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache import CacheSource
from mtneuro.errors import DataError

CHUNKS = (8, 128, 128)  # 2 x 4 x 4 = 32 chunks per channel of the 16 x 512 x 512 volume
#: A cache written by mtneuro before checksums named their chunk (format 1): ArraySource over
#: random_volume((2, 8, 8), seed=1), chunks (1, 8, 8), every chunk filled.
FORMAT1 = Path(__file__).parent / "fixtures" / "cache_format1"


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def cache(tmp_path, array_source) -> CacheSource:
    return open_source("cache", root=tmp_path / "c", upstream=array_source, chunk_shape=CHUNKS)


@pytest.mark.parametrize(
    "pair",
    [
        (("image", (0, 0, 0)), ("image", (1, 2, 3))),
        (("image", (0, 1, 1)), ("roi_labels", (0, 1, 1))),
    ],
    ids=["two-positions", "two-channels"],
)
def test_chunks_swapped_with_their_checksum_files_are_caught(cache, array_source, volume, pair):
    cache.fill(channels=["image", "roi_labels"])
    store = cache.store
    for where in (store.chunk_path, store.checksum_path):
        a, b = where(*pair[0]), where(*pair[1])
        data_a, data_b = a.read_bytes(), b.read_bytes()
        a.write_bytes(data_b), b.write_bytes(data_a)
    fresh = CacheSource(cache.root, upstream=array_source)
    assert sorted(fresh.scan().corrupted) == sorted(pair)
    for channel in ("image", "roi_labels"):  # served right: both chunks fetched again
        np.testing.assert_array_equal(
            fresh.read_channel(channel, (0, 16), (0, 512), (0, 512)), volume[channel]
        )
    assert fresh.scan().ok == 64


def test_damaged_group_metadata_fails_in_one_line_and_verify_rewrites_it(cache, volume, cli):
    import zarr

    cache.fill(channels=["image"])
    (cache.root / "zarr.json").write_text('{"zarr_format": 3, "node_ty')  # torn write
    with pytest.raises(DataError) as err:
        CacheSource(cache.root)
    message = str(err.value)
    assert "\n" not in message and f"mtneuro data verify --cache {cache.root}" in message
    code, out, err = cli(["data", "verify", "--cache", str(cache.root), "--quiet"])
    assert code == 0, err
    assert "rewrote metadata zarr.json" in out
    group = zarr.open_group(cache.root, mode="r")
    assert group.attrs["mtneuro_cache"]["chunk_shape"] == list(CHUNKS)
    np.testing.assert_array_equal(group["image"][:], volume["image"])
    np.testing.assert_array_equal(
        CacheSource(cache.root).read_channel("image", (0, 16), (0, 512), (0, 512)), volume["image"]
    )


def _edit_chunk_shape(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc["chunk_grid"]["configuration"]["chunk_shape"] = [16, 512, 512]  # valid, but wrong
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "damage",
    [lambda p: p.write_bytes(b"\x00" * 40), _edit_chunk_shape, lambda p: p.unlink()],
    ids=["zeroed", "edited", "deleted"],
)
def test_damaged_array_metadata_is_detected_and_repaired(cache, volume, cli, damage):
    import zarr

    cache.fill(channels=["image"])
    damage(cache.root / "image" / "zarr.json")
    args = ["data", "verify", "--cache", str(cache.root), "--quiet"]
    code, out, err = cli([*args, "--no-repair"])
    assert code == 2 and err.count("\n") == 1 and "image/zarr.json" in err
    code, out, err = cli(args)
    assert code == 0, err
    assert "rewrote metadata image/zarr.json" in out
    np.testing.assert_array_equal(zarr.open_group(cache.root)["image"][:], volume["image"])
    code, out, err = cli([*args, "--no-repair"])
    assert code == 0 and "ok 32," in out


@pytest.mark.parametrize(
    "bad",
    [["--z", "0:99999"], ["--z", "5:2"], ["--channels", "image,nope"], ["--x", "a:b"],
     ["--chunk-shape", "0,1,1"], ["--chunk-shape", "720,1420,5805"]],
    ids=["z-outside", "z-reversed", "channel", "x-syntax", "chunk-shape", "chunk-5.5-GiB"],
)
def test_rejected_fetch_creates_nothing(tmp_path, cli, bad):
    target = tmp_path / "new"
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(target), *bad])
    assert code == 2 and err.count("\n") == 1
    assert not target.exists()


def test_rejected_fetch_leaves_an_existing_cache_as_it_was(cache, cli):
    cache.fill(z=(0, 8), y=(0, 128), x=(0, 128), channels=["image"])
    before = tree(cache.root)
    code, _, err = cli(["data", "fetch", "--cache", str(cache.root), "--z", "0:99", "--quiet"])
    assert code == 2 and "z range 0:99" in err
    assert tree(cache.root) == before


def test_failed_first_fetch_removes_only_what_it_created(tmp_path, boss_server, cli):
    target = tmp_path / "mine"
    target.mkdir()  # the user's empty folder: kept
    boss_server.inject("notfound", count=None)  # every cutout fails for good
    code, _, err = cli(
        ["data", "fetch", "--source", "bossdb", "--source-param", f"host={boss_server.host}",
         "--source-param", "protocol=http", "--cache", str(target), "--z", "0:8", "--quiet"]
    )
    assert code == 2 and err.count("\n") == 1
    assert target.is_dir() and not list(target.iterdir())


def test_format1_cache_names_the_upgrade_and_verify_repair_does_it(tmp_path, cli):
    root = tmp_path / "old"
    shutil.copytree(FORMAT1, root)
    with pytest.raises(DataError) as err:
        CacheSource(root)
    message = str(err.value)
    assert "\n" not in message and f"mtneuro data verify --cache {root} --repair" in message
    code, out, err = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 2 and err.count("\n") == 1 and "--repair" in err
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0, err
    assert "upgraded to format 2: re-recorded 6 checksum(s)" in out
    upgraded = CacheSource(root)
    assert upgraded.scan().ok == 6  # nothing fetched: the array upstream could not be recreated
    volume = random_volume((2, 8, 8), seed=1)
    for channel in upgraded.channels:
        np.testing.assert_array_equal(
            upgraded.read_channel(channel, (0, 2), (0, 8), (0, 8)), volume[channel]
        )


def test_format1_upgrade_killed_half_way_is_run_again_and_damage_is_still_found(tmp_path, cli):
    from mtneuro.data.sources.cache_metadata import check_metadata
    from mtneuro.data.sources.cache_store import ChunkStore

    root = tmp_path / "old"
    shutil.copytree(FORMAT1, root)
    bad = root / "roi_labels" / "c" / "1" / "0" / "0"
    bad.write_bytes(bad.read_bytes()[::-1])  # damaged before the upgrade: must not be blessed
    # killed after re-recording the checksums, before any metadata was written
    assert ChunkStore.from_spec(root, check_metadata(root).spec).upgrade_checksums() == 5
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert "re-recorded 0 checksum(s)" in out and "ok 5, corrupted 1, missing 0" in out
    assert code == 2 and "cannot recreate its upstream 'array'" in err  # nothing to fetch from
    assert CacheSource(root).store.status("roi_labels", (1, 0, 0)) == "corrupted"


def test_other_upstream_params_are_refused_even_when_every_chunk_is_there(tmp_path, cli):
    from mtneuro.errors import ConfigError

    args = ["data", "fetch", "--cache", str(tmp_path / "c"), "--source", "phantom",
            "--z", "0:8", "--y", "0:64", "--x", "0:64", "--quiet"]
    assert cli(args)[0] == 0
    before = tree(tmp_path / "c")
    code, _, err = cli([*args, "--source-param", "seed=3"])  # all three chunks already cached
    assert code == 2 and "phantom(seed=3) does not match the data in cache" in err
    assert "filled from phantom(seed=0" in err and tree(tmp_path / "c") == before
    code, out, _ = cli([*args, "--source-param", "seed=0"])  # the recorded value: fine
    assert code == 0 and "0 chunk(s), 3 already present" in out
    with pytest.raises(ConfigError, match="does not match"):
        CacheSource(tmp_path / "c", "phantom", {"seed": 3})


def test_chunks_whose_cache_metadata_are_gone_are_refused_not_adopted(tmp_path, cli):
    """Known answer: the helper's case, a seed-0 cache without its metadata, was taken in
    by a seed-1 fetch ("0 fetched, all present") and then served seed-0 data as seed 1."""
    args = ["data", "fetch", "--cache", str(tmp_path / "c"), "--source", "phantom",
            "--z", "0:8", "--y", "0:64", "--x", "0:64", "--quiet"]
    assert cli(args)[0] == 0
    (tmp_path / "c" / "zarr.json").unlink()
    (tmp_path / "c" / "mtneuro_cache.json").unlink()
    before = tree(tmp_path / "c")
    code, _, err = cli([*args, "--source-param", "seed=1"])
    assert code == 2 and "holds chunks but not the metadata that says what they are" in err
    assert tree(tmp_path / "c") == before


def test_a_chunk_of_another_chunk_shape_is_corrupted_not_half_served(tmp_path, array_source,
                                                                      volume):
    """A chunk and its checksum copied from a cache of smaller chunks at the same position
    pass the checksum; its decoded size (Blosc header) does not match, so it is re-fetched."""
    small = open_source("cache", root=tmp_path / "s", upstream=array_source,
                        chunk_shape=(8, 64, 64))
    small.fill(channels=["image"])
    big = open_source("cache", root=tmp_path / "b", upstream=array_source, chunk_shape=CHUNKS)
    big.fill(channels=["image"])
    for path in ("chunk_path", "checksum_path"):
        shutil.copyfile(getattr(small.store, path)("image", (0, 0, 0)),
                        getattr(big.store, path)("image", (0, 0, 0)))
    fresh = CacheSource(big.root, upstream=array_source)
    assert fresh.scan().corrupted == [("image", (0, 0, 0))]
    np.testing.assert_array_equal(fresh.read_channel("image", (0, 16), (0, 512), (0, 512)),
                                  volume["image"])

