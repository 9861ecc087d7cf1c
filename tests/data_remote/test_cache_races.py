"""What the data chaos walkthrough found, fixed: a fetch refused by a cache another fetch
made meanwhile never deletes that cache, and a folder standing where a file of the cache
belongs is damage to report and repair, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.data.sources import cache_fetch
from mtneuro.data.sources.cache_fetch import fill_cache
from mtneuro.data.sources.cache_metadata import atomic_write
from mtneuro.errors import ConfigError, DataError

BOX = [(0, 8), (0, 64), (0, 64)]
FETCH = ["data", "fetch", "--source", "phantom", "--z", "0:8", "--y", "0:64", "--x", "0:64",
         "--chunk-shape", "8,64,64", "--channels", "image", "--quiet"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_fetch_refused_by_a_cache_made_meanwhile_leaves_that_cache_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "c"
    fill_cache(root, "phantom", chunk_shape="8,64,64", ranges=BOX, channels=["image"])
    made = _files(root)
    # the second fetch looked before the first made the cache: no cache, no paths yet
    looked = {"exists": 0, "paths": 0}
    real_exists, real_paths = cache_fetch.ChunkStore.exists, cache_fetch._cache_paths

    def exists_once_too_early(path: Path) -> bool:
        looked["exists"] += 1
        return False if looked["exists"] == 1 else real_exists(path)

    def paths_once_too_early(path: Path) -> set[Path]:
        looked["paths"] += 1
        return set() if looked["paths"] == 1 else real_paths(path)

    monkeypatch.setattr(cache_fetch.ChunkStore, "exists", staticmethod(exists_once_too_early))
    monkeypatch.setattr(cache_fetch, "_cache_paths", paths_once_too_early)
    with pytest.raises(ConfigError, match="has chunks"):  # other settings: refused, rightly
        fill_cache(root, "phantom", chunk_shape="16,64,64", ranges=BOX, channels=["image"])
    assert _files(root) == made


def test_a_failed_first_fill_of_a_cache_it_made_still_removes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtneuro.data.sources.cache import CacheSource

    def fail(*_: object, **__: object) -> None:
        raise DataError("server answered garbage")

    monkeypatch.setattr(CacheSource, "fill", fail)
    with pytest.raises(DataError):
        fill_cache(tmp_path / "c", "phantom", chunk_shape="8,64,64", ranges=BOX)
    assert not (tmp_path / "c").exists()  # nothing of its own left behind


@pytest.mark.parametrize("where", ["image/c/0/0/0", "image/_sha256/0.0.0"])
def test_a_folder_where_a_chunk_file_belongs_is_damage_that_repair_fixes(
        tmp_path: Path, cli, where: str) -> None:
    root = tmp_path / "c"
    assert cli([*FETCH, "--cache", str(root)])[0] == 0
    good = _files(root)
    (root / where).unlink()
    (root / where).mkdir()
    code, out, err = cli(["data", "verify", "--cache", str(root), "--no-repair", "--quiet"])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "corrupted 1" in out
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0 and "repaired 1 chunk(s)" in out, err
    assert _files(root) == good


def test_a_folder_holding_files_where_a_chunk_belongs_is_named_not_deleted(
        tmp_path: Path, cli) -> None:
    root = tmp_path / "c"
    assert cli([*FETCH, "--cache", str(root)])[0] == 0
    chunk = root / "image/c/0/0/0"
    chunk.unlink()
    (chunk / "mine").mkdir(parents=True)
    code, _, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{chunk} is a folder holding files where a file of the cache belongs" in err
    assert (chunk / "mine").is_dir()


def test_a_folder_where_the_manifest_belongs_is_rewritten_and_leaves_no_temp(
        tmp_path: Path, cli) -> None:
    root = tmp_path / "c"
    assert cli([*FETCH, "--cache", str(root)])[0] == 0
    good = _files(root)
    (root / "mtneuro_cache.json").unlink()
    (root / "mtneuro_cache.json").mkdir()
    code, out, err = cli(["data", "verify", "--cache", str(root), "--quiet"])
    assert code == 0 and "rewrote metadata mtneuro_cache.json" in out, err
    assert _files(root) == good  # no temporary file left, the manifest as it was


def test_a_failed_atomic_write_removes_its_temporary_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "chunk", "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
