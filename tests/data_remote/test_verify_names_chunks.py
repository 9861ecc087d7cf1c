"""``mtneuro data verify`` names the chunks it found bad (and those it fetched again), and
says what its "never fetched" count means, so a user can act on its report."""

from __future__ import annotations

import numpy as np

from mtneuro.data.sources.cache import CacheSource


def phantom_cache(cli, root, x: str = "0:64") -> CacheSource:
    """A phantom cache of the image channel, chunks of 8 x 32 x 32 voxels."""
    code, _, err = cli(["data", "fetch", "--source", "phantom", "--cache", str(root), "--z",
                        "0:8", "--y", "0:64", "--x", x, "--chunk-shape", "8,32,32",
                        "--channels", "image", "--quiet"])
    assert code == 0, err
    return CacheSource(root)


def flip_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x55
    path.write_bytes(bytes(data))


def verify(cli, root, *flags: str) -> tuple[int, list[str], str]:
    code, out, err = cli(["data", "verify", "--cache", str(root), *flags, "--quiet"])
    return code, out.splitlines(), err


def test_no_repair_names_each_bad_chunk_with_its_voxels(tmp_path, cli):
    root = tmp_path / "c"
    store = phantom_cache(cli, root).store
    flip_byte(store.chunk_path("image", (0, 0, 1)))
    chunk = store.chunk_path("image", (0, 1, 0))
    chunk.write_bytes(chunk.read_bytes()[:10])  # truncated
    store.chunk_path("image", (0, 1, 1)).unlink()  # its checksum is left: missing
    code, lines, err = verify(cli, root, "--no-repair")
    assert code == 2 and "left as they are" in err
    assert "  corrupted image/c/0/0/1 (z 0:8, y 0:32, x 32:64)" in lines
    assert "  corrupted image/c/0/1/0 (z 0:8, y 32:64, x 0:32)" in lines
    assert "  missing image/c/0/1/1 (z 0:8, y 32:64, x 32:64)" in lines
    assert not any("image/c/0/0/0" in line for line in lines)  # a sound chunk is not named


def test_at_most_ten_bad_chunks_are_named_then_the_rest_counted(tmp_path, cli):
    root = tmp_path / "c"
    store = phantom_cache(cli, root, x="0:448").store  # 2 x 14 chunks
    for key in sorted(store.keys_on_disk("image"))[:13]:
        flip_byte(store.chunk_path("image", key))
    code, lines, _ = verify(cli, root, "--no-repair")
    assert code == 2
    named = [line for line in lines if line.startswith("  corrupted image/c/")]
    assert len(named) == 10
    assert "  ... and 3 more corrupted chunk(s)" in lines


def test_repair_names_the_chunks_it_fetched_again(tmp_path, cli):
    root = tmp_path / "c"
    store = phantom_cache(cli, root).store
    flip_byte(store.chunk_path("image", (0, 1, 0)))
    store.chunk_path("image", (0, 0, 1)).unlink()
    code, lines, err = verify(cli, root)
    assert code == 0, err
    refetched = [line for line in lines if line.startswith("  re-fetched ")]
    assert refetched == ["  re-fetched image/c/0/1/0", "  re-fetched image/c/0/0/1"]
    assert lines[-1] == "repaired 2 chunk(s) from phantom; removed 0 temporary file(s)"
    assert CacheSource(root).store.status("image", (0, 0, 1)) == "ok"


def test_the_never_fetched_count_says_it_is_no_damage(tmp_path, cli):
    root = tmp_path / "c"
    store = phantom_cache(cli, root).store
    unfilled = 3 * int(np.prod(store.grid)) - 4  # 3 channels; 4 image chunks fetched
    code, lines, _ = verify(cli, root, "--no-repair")
    assert code == 0
    assert f"cache {root}: ok 4, corrupted 0, missing 0 (never fetched {unfilled}, " \
           "temporary files 0)" in lines
    assert (f"cache {root}: never fetched {unfilled} = chunks of the volume (3 channel(s)) "
            "not fetched into this cache: no damage (verify checks only the chunks it "
            "fetched)") in lines


def test_a_chunk_a_repair_left_damaged_is_named(tmp_path, cli, monkeypatch):
    root = tmp_path / "c"
    store = phantom_cache(cli, root).store
    flip_byte(store.chunk_path("image", (0, 1, 1)))
    monkeypatch.setattr(CacheSource, "repair", lambda self, report, progress=False: 0)
    code, lines, err = verify(cli, root)
    assert code == 2 and "1 chunk(s) in" in err and "still damaged after repair" in err
    assert "  still damaged image/c/0/1/1" in lines
