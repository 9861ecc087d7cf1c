"""Folders the system refuses (:mod:`permissions`, since tests may run as root): ``data list``
reports a dataset folder it cannot look into as ``unreadable``, and a download into a read-only
root fails in one line before anything is fetched."""

from __future__ import annotations

import dataclasses

import pytest
from cli_capture import run as _run
from permissions import deny_entering, deny_writing

from mtneuro.data import catalog
from mtneuro.data.download import fetch_url
from mtneuro.errors import DataError

RATES = catalog.CATALOG["mouse-ca1"].files[0]


def test_list_reports_a_dataset_folder_it_cannot_look_into_as_unreadable(tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "root"
    folder = (root / RATES.relative).parent
    folder.mkdir(parents=True)
    deny_entering(monkeypatch, folder)  # a folder at mode 000
    code, out, err = _run(["data", "list", "--root", str(root)], capsys)
    assert code == 1 and "Traceback" not in err
    line = next(x for x in out.splitlines() if x.startswith(f"unreadable: {root / RATES.relative}"))
    assert "Permission denied" in line and "fix the permissions of its folder" in line
    row = next(x for x in out.splitlines() if RATES.relative in x and "│" in x)
    assert "unreadable" in row
    # a download cannot fix permissions: the closing line says what can
    assert err.strip().endswith("fail their check (listed above); fix the permissions of the "
                                "unreadable (or of their folders)") and "download" not in err


def test_download_into_a_read_only_root_fails_in_one_line_before_any_request(
        tmp_path, monkeypatch, capsys, file_server):
    root = tmp_path / "ro"
    root.mkdir()
    entry = catalog.CATALOG["mouse-ca1"]
    files = tuple(dataclasses.replace(f, url=file_server.url(f"f{i}"))
                  for i, f in enumerate(entry.files))
    monkeypatch.setitem(catalog.CATALOG, "mouse-ca1", dataclasses.replace(entry, files=files))
    deny_writing(monkeypatch, root)
    code, out, err = _run(["data", "download", "mouse-ca1", "--root", str(root)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write in {root}" in err and "Permission denied" in err
    assert file_server.requests == [] and list(root.iterdir()) == []


def test_fetch_url_into_a_read_only_folder_names_it_and_leaves_nothing(tmp_path, monkeypatch,
                                                                       file_server):
    file_server.files["x"] = b"payload"
    root = tmp_path / "ro"
    root.mkdir()
    deny_writing(monkeypatch, root)
    with pytest.raises(DataError) as err:
        fetch_url(file_server.url("x"), root / "sub" / "x.bin", sha256=None, progress=False)
    message = str(err.value)
    assert "\n" not in message and f"cannot write in {root} (Permission denied)" in message
    assert "--root DIR" in message
    assert file_server.requests == [] and list(root.iterdir()) == []


def test_fetch_url_names_a_folder_it_made_but_cannot_write_in(tmp_path, monkeypatch,
                                                              file_server):
    file_server.files["x"] = b"payload"
    folder = tmp_path / "made"
    folder.mkdir()
    deny_writing(monkeypatch, folder)  # the folder exists already: only its files are refused
    with pytest.raises(DataError, match=f"cannot write in {folder} "):
        fetch_url(file_server.url("x"), folder / "x.bin", sha256=None, progress=False)
    assert file_server.requests == []

