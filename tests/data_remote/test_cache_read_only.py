"""A cache this process may not write (refused by :mod:`permissions`, as tests may run as
root): reads are served without storing, with one warning; a repair is refused in one line
before anything is fetched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from permissions import deny_writing

from mtneuro.data.sources import cache_unstored
from mtneuro.data.sources.cache import CacheSource

CHUNKS = (8, 128, 128)


@pytest.fixture
def filled(tmp_path, boss_server, fast_params):
    """A cache of the test server holding the 4 chunks of z 0:8, y 0:256, x 0:256."""
    root = tmp_path / "c"
    cache = CacheSource(root, upstream="bossdb", upstream_params=fast_params, chunk_shape=CHUNKS)
    assert cache.fill((0, 8), (0, 256), (0, 256), channels=["image"]).fetched == 4
    return root


def test_a_read_only_cache_serves_chunks_it_lacks_without_storing_them(
        filled, boss_server, volume, monkeypatch):
    monkeypatch.setattr(cache_unstored, "_warned", set())  # once per process: this test's
    before = sorted(filled.rglob("*"))
    deny_writing(monkeypatch, filled)
    cutouts = boss_server.count("cutout")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = CacheSource(filled).read_channel("image", (0, 16), (0, 256), (0, 256))
        other = CacheSource(filled).read_channel("image", (8, 16), (256, 384), (0, 128))
    np.testing.assert_array_equal(block, volume["image"][:16, :256, :256])
    np.testing.assert_array_equal(other, volume["image"][8:16, 256:384, :128])
    assert boss_server.count("cutout") - cutouts == 4 + 1  # only the chunks it lacks
    said = [str(w.message) for w in caught if "cannot store chunks" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]  # not once per chunk or object
    assert f"cache {filled}:" in said[0] and f"(Permission denied in {filled}" in said[0]
    assert "fetches them again" in said[0]
    monkeypatch.undo()
    assert sorted(filled.rglob("*")) == before  # nothing stored, no temporary or lock file


@pytest.mark.parametrize("damage, refused", [("chunk", "."), ("chunk", "image/c/0/1"),
                                             ("metadata", ".")],
                         ids=["chunk", "chunk-folder", "metadata"])
def test_verify_repair_of_a_read_only_cache_refuses_before_any_request(
        filled, boss_server, monkeypatch, cli, damage, refused):
    if damage == "chunk":
        chunk = filled / "image" / "c" / "0" / "1" / "1"
        data = bytearray(chunk.read_bytes())
        data[-1] ^= 0xFF
        chunk.write_bytes(bytes(data))
    else:
        (filled / "image" / "zarr.json").write_text("{}")
    folder = (filled / refused).resolve()
    deny_writing(monkeypatch, folder)
    cutouts = boss_server.count("cutout")
    code, out, err = cli(["data", "verify", "--cache", str(filled), "--quiet"])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"cannot write in {folder} (Permission denied)" in err
    assert f"mtneuro data verify --cache {filled} --no-repair" in err
    assert boss_server.count("cutout") == cutouts  # nothing fetched to be thrown away
    assert ("corrupted image/c/0/1/1" in out) == (damage == "chunk")  # listed before refusing


def test_verify_of_a_sound_read_only_cache_passes_with_the_default_repair(
        filled, boss_server, monkeypatch, cli):
    deny_writing(monkeypatch, filled)  # a shared read-only cache: checking it is fine
    code, out, err = cli(["data", "verify", "--cache", str(filled), "--quiet"])
    assert code == 0, err
    assert "ok 4, corrupted 0, missing 0" in out
