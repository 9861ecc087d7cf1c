"""``mtneuro data list`` and ``mtneuro data download`` from the command line."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from mtneuro.cli.main import main
from mtneuro.data import catalog
from mtneuro.data.catalog import CatalogFile, Dataset


def _run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_list_shows_every_dataset_where_it_is_and_whether_it_verifies(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, _ = _run(["data", "list"], capsys)
    assert code == 0
    for name in catalog.CATALOG:
        assert name in out
    slice_row = next(line for line in out.splitlines() if "xray_slice/slice_z309.png" in line)
    assert "packaged samples" in slice_row and "verified" in slice_row
    masks_row = next(line for line in out.splitlines() if "masks_ctx.npz" in line)
    assert "missing" in masks_row


def _local_dataset(monkeypatch, url: str, sha: str | None) -> str:
    entry = Dataset("local-test", "test file", (CatalogFile("t/a.bin", url, sha),), "CC-BY-4.0", "-", "-")
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    return entry.name


def test_download_command_fetches_and_verifies(file_server, tmp_path, monkeypatch, capsys):
    # a copy in the user cache or $MTNEURO_DATA would be taken instead of the download
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    body = b"real bytes" * 1000
    file_server.files["a.bin"] = body
    name = _local_dataset(monkeypatch, file_server.url("a.bin"), hashlib.sha256(body).hexdigest())
    code, out, _ = _run(["data", "download", name, "--root", str(tmp_path)], capsys)
    assert code == 0
    assert out.startswith("verified") and str(tmp_path / "t/a.bin") in out
    assert (tmp_path / "t/a.bin").read_bytes() == body


def test_download_without_network_fails_in_one_line(closed_port_url, tmp_path, monkeypatch, capsys):
    name = _local_dataset(monkeypatch, closed_port_url, "0" * 64)
    code, _, err = _run(["data", "download", name, "--root", str(tmp_path), "--retries", "1"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: cannot download")
    assert str(tmp_path / "t/a.bin") in err


def test_a_retried_download_says_so_once_before_it_fails(closed_port_url, tmp_path,
                                                         monkeypatch, capsys):
    name = _local_dataset(monkeypatch, closed_port_url, "0" * 64)
    code, _, err = _run(["data", "download", name, "--root", str(tmp_path), "--retries", "3"],
                        capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2, err
    assert lines[0] == (f"warning: download of {closed_port_url} failed (ConnectionError); "
                        "retrying, up to 3 tries or 600 s")
    assert lines[1].startswith("error: cannot download") and "after 3 tries" in lines[1]


def test_download_of_a_packaged_dataset_copies_it_without_the_network(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # the catalogued URL points nowhere: a fetch would fail the command
    file = catalog.CATALOG["chewie-1"].files[0]
    entry = Dataset("chewie-1", "-", (dataclasses.replace(file, url="http://127.0.0.1:9/x"),),
                    "-", "-", "-")
    monkeypatch.setitem(catalog.CATALOG, "chewie-1", entry)
    code, out, err = _run(["data", "download", "chewie-1", "--root", str(tmp_path / "d")], capsys)
    assert code == 0, err
    assert "from the packaged samples" in out and "no download needed" in out
    target = tmp_path / "d" / file.relative
    assert hashlib.sha256(target.read_bytes()).hexdigest() == file.sha256
    assert f"verified   copied          {target}" in out  # copied above, not found there


def test_a_download_into_a_data_root_not_made_yet_does_not_warn_about_it(tmp_path, monkeypatch,
                                                                           capsys):
    """$MTNEURO_DATA pointing at a folder the first download makes is no mistake."""
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "new"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = _run(["data", "download", "chewie-1"], capsys)
    assert (code, err) == (0, "")
    assert (tmp_path / "new" / catalog.CATALOG["chewie-1"].files[0].relative).is_file()



def test_list_marks_a_lookup_root_that_is_no_folder(tmp_path, monkeypatch, capsys):
    """A stale ``$MTNEURO_DATA`` is warned about and skipped, but the lookup order listed it
    as if it were searched."""
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "gone"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, _ = _run(["data", "list"], capsys)
    assert code == 0
    order = next(line for line in out.splitlines() if line.startswith("Lookup order:"))
    assert f"$MTNEURO_DATA {tmp_path / 'gone'} (no such folder)" in order
    assert "packaged samples" in order and order.count("(no such folder)") == 2  # cache too
