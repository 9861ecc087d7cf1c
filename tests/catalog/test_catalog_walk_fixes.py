"""Data walkthrough findings 5-7: an offline download repairs a corrupted file from a verified
copy in the lookup order, `neural` names a $MTNEURO_DATA that is not a folder when the
recording is not found, and `data list` gives each failing file its reason and exits 1."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np
from cli_capture import run as _run

from mtneuro.data import catalog
from mtneuro.data.catalog import CatalogFile, Dataset
from mtneuro.data.catalog_files import replace_with_copy, truncation
from mtneuro.data.paths import PACKAGED_ROOT

CHEWIE = catalog.CATALOG["chewie-1"].files[0]
SLICE = catalog.CATALOG["xray-slice"].files[0]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _offline_chewie(monkeypatch) -> None:
    """chewie-1 whose URL points where nothing listens: a fetch would fail the command."""
    entry = Dataset("chewie-1", "-", (dataclasses.replace(CHEWIE, url="http://127.0.0.1:9/x"),),
                    "-", "-", "-")
    monkeypatch.setitem(catalog.CATALOG, "chewie-1", entry)


def _corrupted_copy(source: Path, target: Path) -> bytes:
    """``source`` copied to ``target`` with one byte flipped; returns the bad bytes."""
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))
    return bytes(data)


def test_offline_download_replaces_a_corrupted_file_with_the_verified_packaged_copy(
        tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("MTNEURO_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _offline_chewie(monkeypatch)
    target = data / CHEWIE.relative
    _corrupted_copy(PACKAGED_ROOT / CHEWIE.relative, target)
    code, out, err = _run(["data", "download", "chewie-1", "--retries", "1"], capsys)
    assert code == 0, err
    assert _sha(target.read_bytes()) == CHEWIE.sha256
    lines = out.splitlines()
    assert lines[0].startswith(f"replaced {target} (checksum mismatch: expected sha256 "
                               f"{CHEWIE.sha256[:16]}..., got ")
    assert "atomically with the verified copy from the packaged samples" in lines[0]
    assert lines[1] == f"verified   copied          {target}"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary


def test_download_takes_a_verified_copy_past_a_corrupted_one_earlier_in_the_lookup(
        tmp_path, monkeypatch, capsys):
    # $MTNEURO_DATA comes first in the lookup and holds a bad copy; the packaged one is good
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "shared"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _offline_chewie(monkeypatch)
    bad = _corrupted_copy(PACKAGED_ROOT / CHEWIE.relative, tmp_path / "shared" / CHEWIE.relative)
    root = tmp_path / "mine"
    code, out, err = _run(["data", "download", "chewie-1", "--root", str(root), "--retries", "1"],
                          capsys)
    assert code == 0, err
    assert "from the packaged samples" in out
    assert _sha((root / CHEWIE.relative).read_bytes()) == CHEWIE.sha256
    assert (tmp_path / "shared" / CHEWIE.relative).read_bytes() == bad  # only --root is written


def test_a_copy_that_does_not_verify_replaces_nothing(tmp_path):
    source, target = tmp_path / "source.png", tmp_path / "d" / "slice.png"
    _corrupted_copy(PACKAGED_ROOT / SLICE.relative, source)
    target.parent.mkdir()
    target.write_bytes(b"old")
    assert replace_with_copy(SLICE, source, target) is False
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["slice.png"]


def test_neural_names_a_mtneuro_data_that_is_no_folder_when_the_recording_is_not_found(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for value, what in ((tmp_path / "dta", "not there"), (a_file, "a file")):
        monkeypatch.setenv("MTNEURO_DATA", str(value))
        code, _, err = _run(["neural", "--data", "chewie-2", "--method", "raw",
                             "--out", str(tmp_path / "run")], capsys)
        assert code == 2
        assert err.startswith("error: recording 'chewie-2' is not here") and err.count("\n") == 1
        assert err.endswith(f"; $MTNEURO_DATA is {value}, which is not a folder ({what}): "
                            "a typo?\n")
        assert not (tmp_path / "run").exists()


def test_neural_says_nothing_of_a_mtneuro_data_that_is_a_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path))
    code, _, err = _run(["neural", "--data", "chewie-2", "--method", "raw",
                         "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "not here" in err and "which is not a folder" not in err


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_list_gives_each_failing_file_its_reason_and_exits_1(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("MTNEURO_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    full = _npy_bytes(np.arange(1000, dtype=np.int32))
    entry = Dataset("tiny-npy", "-", (CatalogFile("t/rates.npy", "http://127.0.0.1:9/r",
                                                  _sha(full)),), "-", "-", "-")
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    (data / "t").mkdir(parents=True)
    (data / "t/rates.npy").write_bytes(full[:1000])
    flipped = _corrupted_copy(PACKAGED_ROOT / SLICE.relative, data / SLICE.relative)
    code, out, err = _run(["data", "list"], capsys)
    assert code == 1
    assert err == ("error: 2 file(s) fail their check (listed above); replace them with: "
                   "mtneuro data download NAME\n")
    lines = out.splitlines()
    assert (f"checksum mismatch: {data / SLICE.relative}: expected sha256 {SLICE.sha256[:16]}..., "
            f"got {_sha(flipped)[:16]}...") in lines
    assert (f"checksum mismatch: {data / 't/rates.npy'}: truncated: 1000 of the {len(full)} bytes "
            f"its header announces; expected sha256 {_sha(full)[:16]}..., "
            f"got {_sha(full[:1000])[:16]}...") in lines
    chewie_row = next(line for line in lines if CHEWIE.relative in line)
    assert "packaged samples" in chewie_row and "verified" in chewie_row


def test_list_exits_0_when_files_are_only_verified_unverified_or_missing(tmp_path, monkeypatch,
                                                                         capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("MTNEURO_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    no_hash = next(f for f in catalog.CATALOG["rat-v1"].files if f.sha256 is None)
    (data / no_hash.relative).parent.mkdir(parents=True)
    (data / no_hash.relative).write_bytes(b"anything")
    code, out, err = _run(["data", "list"], capsys)
    assert (code, err) == (0, "")
    assert "unverified" in next(line for line in out.splitlines() if no_hash.relative in line)
    assert "checksum mismatch" not in out


def test_list_names_a_file_it_cannot_read(tmp_path, monkeypatch, capsys):
    from mtneuro.data import catalog_files

    def denied(file: CatalogFile, path: Path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(catalog_files, "catalogued_check", denied)  # root reads any file
    code, out, _ = _run(["data", "list"], capsys)
    assert code == 1
    assert f"unreadable: {PACKAGED_ROOT / SLICE.relative}: Permission denied" in out.splitlines()


def test_list_help_documents_the_exit_status(capsys):
    code, out, _ = _run(["data", "list", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "Exit status: 0 when every file found verifies" in text
    assert "1 when a file found fails its check" in text


def test_truncation_reads_each_format_s_own_end(tmp_path):
    full = _npy_bytes(np.zeros((4, 5), dtype=np.float64))
    png = (PACKAGED_ROOT / SLICE.relative).read_bytes()
    cases = {
        "whole.npy": (full, None),
        "cut.npy": (full[:200], f"200 of the {len(full)} bytes its header announces"),
        "header.npy": (full[:100], "100 bytes, within its 128-byte .npy header"),
        "not.npy": (b"no numpy file", None),
        "cut.npz": ((PACKAGED_ROOT / CHEWIE.relative).read_bytes()[:5000],
                    "5000 bytes and no zip directory at its end"),
        "whole.npz": ((PACKAGED_ROOT / CHEWIE.relative).read_bytes(), None),
        "cut.png": (png[:-1], f"{len(png) - 1} bytes and no PNG end chunk"),
        "whole.png": (png, None),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert truncation(tmp_path / name) == expected, name


def test_download_never_replaces_a_target_that_passes_its_check(tmp_path, monkeypatch, capsys):
    # same arrays as the catalogue's, other zip bytes (another writer): verified, kept as is
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _offline_chewie(monkeypatch)
    target = tmp_path / "root" / CHEWIE.relative
    target.parent.mkdir(parents=True)
    with np.load(PACKAGED_ROOT / CHEWIE.relative) as arrays:
        np.savez(target, **dict(arrays))
    mine = target.read_bytes()
    assert _sha(mine) != CHEWIE.sha256
    code, out, err = _run(["data", "download", "chewie-1", "--root", str(tmp_path / "root"),
                           "--retries", "1"], capsys)
    assert (code, err) == (0, "")
    assert out == f"verified   already present {target}\n"
    assert target.read_bytes() == mine


def test_a_copy_verified_by_its_arrays_repairs_a_corrupted_target(tmp_path):
    # another writer's bytes, the catalogue's arrays: the copy verifies and replaces
    source, target = tmp_path / "other.npz", tmp_path / "d" / "chewie.npz"
    with np.load(PACKAGED_ROOT / CHEWIE.relative) as arrays:
        np.savez(source, **dict(arrays))
    _corrupted_copy(PACKAGED_ROOT / CHEWIE.relative, target)
    assert replace_with_copy(CHEWIE, source, target) is True
    assert target.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["chewie.npz"]


def test_list_names_the_root_to_download_into_when_a_file_under_it_fails(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "mine"
    _corrupted_copy(PACKAGED_ROOT / SLICE.relative, root / SLICE.relative)
    code, out, err = _run(["data", "list", "--root", str(root)], capsys)
    assert code == 1 and f"checksum mismatch: {root / SLICE.relative}: " in out
    assert err == ("error: 1 file(s) fail their check (listed above); replace them with: "
                   f"mtneuro data download NAME --root {root}\n")
