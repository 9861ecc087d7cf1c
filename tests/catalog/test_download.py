"""Downloads against a local HTTP server: verification, corruption, resume, no network."""

from __future__ import annotations

import hashlib

import pytest

from mtneuro.data.catalog import CatalogFile
from mtneuro.data.download import download_file, fetch_url
from mtneuro.data.retry import RetryPolicy
from mtneuro.errors import ChecksumError, SourceUnavailableError

FAST = RetryPolicy(max_attempts=3, max_seconds=30.0, base_delay=0.0, max_delay=0.0)
BODY = bytes(range(256)) * 400  # 102,400 bytes, position-dependent so misplaced bytes show
SHA = hashlib.sha256(BODY).hexdigest()


def _fetch(url, dest, sha=SHA, policy=FAST):
    return fetch_url(url, dest, sha256=sha, policy=policy, timeout=5.0, progress=False)


def test_download_verifies_and_places_file(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    dest = _fetch(file_server.url("a.bin"), tmp_path / "sub" / "a.bin")
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "sub" / "a.bin.part").exists()
    assert file_server.requests == [("a.bin", None)]


def test_corrupted_body_is_rejected_and_deleted(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    file_server.corrupt.add("a.bin")
    dest = tmp_path / "a.bin"
    with pytest.raises(ChecksumError, match="corrupted") as info:
        _fetch(file_server.url("a.bin"), dest)
    assert "\n" not in str(info.value)
    assert not dest.exists()
    assert not (tmp_path / "a.bin.part").exists()


def test_partial_file_is_resumed_with_range(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    (tmp_path / "a.bin.part").write_bytes(BODY[:40_000])
    dest = _fetch(file_server.url("a.bin"), tmp_path / "a.bin")
    assert dest.read_bytes() == BODY
    assert file_server.requests == [("a.bin", "bytes=40000-")]


def test_dropped_connection_is_retried_from_where_it_stopped(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    file_server.drop_first["a.bin"] = 70_000
    dest = _fetch(file_server.url("a.bin"), tmp_path / "a.bin")
    assert dest.read_bytes() == BODY
    first, second = [r for _, r in file_server.requests]
    # The bytes read before the drop are kept (up to the last whole chunk) and not asked for again.
    assert first is None
    assert second is not None and 0 < int(second.removeprefix("bytes=").rstrip("-")) <= 70_000


def test_server_ignoring_range_restarts_cleanly(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    file_server.ignore_range = True
    (tmp_path / "a.bin.part").write_bytes(b"x" * 5000)
    dest = _fetch(file_server.url("a.bin"), tmp_path / "a.bin")
    assert dest.read_bytes() == BODY


def test_complete_part_file_is_verified_without_refetching_body(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    (tmp_path / "a.bin.part").write_bytes(BODY)
    dest = _fetch(file_server.url("a.bin"), tmp_path / "a.bin")
    assert dest.read_bytes() == BODY
    assert file_server.requests == [("a.bin", f"bytes={len(BODY)}-")]


def test_missing_file_fails_without_retrying(file_server, tmp_path):
    with pytest.raises(SourceUnavailableError, match="HTTP 404 after 1 tries"):
        _fetch(file_server.url("absent.bin"), tmp_path / "absent.bin")
    assert len(file_server.requests) == 1


def test_no_network_fails_in_one_line_saying_what_and_where(closed_port_url, tmp_path):
    dest = tmp_path / "neural" / "x.bin"
    with pytest.raises(SourceUnavailableError) as info:
        _fetch(closed_port_url, dest, policy=RetryPolicy(max_attempts=2, base_delay=0.0))
    message = str(info.value)
    assert "\n" not in message
    assert closed_port_url in message and str(dest) in message
    assert "after 2 tries" in message


def test_failed_first_download_leaves_no_empty_folders(closed_port_url, tmp_path):
    dest = tmp_path / "data" / "neural" / "x.bin"
    with pytest.raises(SourceUnavailableError):
        _fetch(closed_port_url, dest, policy=RetryPolicy(max_attempts=1, base_delay=0.0))
    assert list(tmp_path.iterdir()) == []  # data/ and data/neural/ removed again


def test_corrupted_download_leaves_no_empty_folders_but_keeps_existing_ones(file_server,
                                                                            tmp_path):
    file_server.files["blob.bin"] = BODY
    (tmp_path / "data").mkdir()
    with pytest.raises(ChecksumError):
        _fetch(file_server.url("blob.bin"), tmp_path / "data" / "new" / "blob.bin", sha="0" * 64)
    assert (tmp_path / "data").is_dir() and list((tmp_path / "data").iterdir()) == []


def test_file_without_known_hash_is_never_reported_verified(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    entry = CatalogFile(relative="x/a.bin", url=file_server.url("a.bin"), sha256=None)
    result = download_file(entry, tmp_path, policy=FAST, timeout=5.0, progress=False)
    assert (tmp_path / "x/a.bin").read_bytes() == BODY
    assert result.fetched and not result.verified and "not verified" in result.note
    again = download_file(entry, tmp_path, policy=FAST, timeout=5.0, progress=False)
    assert not again.fetched and not again.verified


def test_verified_file_is_not_downloaded_again(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    entry = CatalogFile(relative="x/a.bin", url=file_server.url("a.bin"), sha256=SHA)
    first = download_file(entry, tmp_path, policy=FAST, timeout=5.0, progress=False)
    second = download_file(entry, tmp_path, policy=FAST, timeout=5.0, progress=False)
    assert first.verified and first.fetched
    assert second.verified and not second.fetched
    assert len(file_server.requests) == 1
