"""Audit of where data files are found and how downloads treat bad, partial or refused bodies.

Known answers on tiny bodies: a local HTTP server (``file_server``) or a fake ``requests.get``
serves every byte; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np
import pytest

from mtneuro.data import download as dl
from mtneuro.data.catalog import MYOW_PICKLE_TO_NPZ, CatalogFile, catalog_sha256, get_dataset
from mtneuro.data.download import (
    convert_myow_pickle,
    default_download_root,
    download_dataset,
    download_file,
    fetch_url,
)
from mtneuro.data.paths import PACKAGED_ROOT, find_data_file, user_cache_dir
from mtneuro.data.retry import RetryPolicy
from mtneuro.data.vision import load_vision
from mtneuro.errors import ChecksumError, DataError, SourceUnavailableError

FAST = RetryPolicy(max_attempts=3, max_seconds=30.0, base_delay=0.0, max_delay=0.0)
BODY = bytes(range(256)) * 8  # 2,048 bytes, position-dependent so misplaced bytes show
SHA = hashlib.sha256(BODY).hexdigest()
SLICE = "xray_slice/slice_z309.png"  # packaged with mtneuro, so the last root always has it


def _fetch(url: str, dest: Path, sha: str | None = SHA) -> Path:
    return fetch_url(url, dest, sha256=sha, policy=FAST, timeout=5.0, progress=False)


# --- lookup order ------------------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An explicit root, $MTNEURO_DATA and a user cache, each holding its own copy of SLICE."""
    made = {name: tmp_path / name for name in ("explicit", "env", "xdg")}
    monkeypatch.setenv("MTNEURO_DATA", str(made["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(made["xdg"]))
    for name, base in made.items():
        root = base / "mtneuro" if name == "xdg" else base
        (root / SLICE).parent.mkdir(parents=True)
        (root / SLICE).write_bytes(name.encode())
    return made


def test_lookup_order_is_explicit_then_env_then_cache_then_packaged(roots, monkeypatch):
    assert find_data_file(SLICE, roots["explicit"]).read_bytes() == b"explicit"
    assert find_data_file(SLICE).read_bytes() == b"env"
    monkeypatch.delenv("MTNEURO_DATA")
    assert find_data_file(SLICE) == roots["xdg"] / "mtneuro" / SLICE
    (roots["xdg"] / "mtneuro" / SLICE).unlink()
    assert find_data_file(SLICE) == PACKAGED_ROOT / SLICE


def test_a_folder_with_the_files_name_is_not_the_file(roots):
    (roots["explicit"] / SLICE).unlink()
    (roots["explicit"] / SLICE).mkdir()
    with pytest.warns(UserWarning, match=f"^{SLICE} is not in data root"):
        assert find_data_file(SLICE, roots["explicit"]).read_bytes() == b"env"


def test_user_cache_is_under_xdg_cache_home_or_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "mtneuro"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "mtneuro"


def test_missing_file_names_every_root_searched_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "given").mkdir()  # an explicit root that is not there fails before the search
    with pytest.raises(DataError) as info, pytest.warns(UserWarning, match=r"^\$MTNEURO_DATA"):
        find_data_file("xray_masks/masks_ctx.npz", tmp_path / "given")
    message = str(info.value)
    assert message.startswith("xray_masks/masks_ctx.npz not found")
    for where in (f"explicit path {tmp_path / 'given'}", f"$MTNEURO_DATA {tmp_path / 'env'}",
                  f"user cache {tmp_path / 'xdg' / 'mtneuro'}",
                  f"packaged samples {PACKAGED_ROOT}"):
        assert where in message
    assert "pass root=DIR (--source-param root=DIR)" in message and "set MTNEURO_DATA" in message
    assert "mtneuro data download" in message


def test_downloads_go_to_mtneuro_data_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "env"))
    assert default_download_root() == tmp_path / "env"
    monkeypatch.setenv("MTNEURO_DATA", "")  # set but empty: as if unset
    assert default_download_root() == tmp_path / "xdg" / "mtneuro"


def test_download_dataset_keeps_a_verified_file_in_the_given_root(tmp_path, monkeypatch):
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a verified file must not be fetched")

    monkeypatch.setattr(dl, "fetch_url", no_network)
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path / "env"))
    for root in (tmp_path / "given", tmp_path / "env"):
        (root / SLICE).parent.mkdir(parents=True)
        shutil.copy(PACKAGED_ROOT / SLICE, root / SLICE)
    [given] = download_dataset("xray-slice", tmp_path / "given")
    assert (given.path, given.verified, given.fetched) == (tmp_path / "given" / SLICE, True, False)
    [default] = download_dataset("xray-slice")
    assert default.path == tmp_path / "env" / SLICE


def test_only_known_hashes_are_in_the_hash_table():
    table = catalog_sha256()
    unknown = [f.relative for name in ("mihi-2", "rat-v1") for f in get_dataset(name).files
               if f.sha256 is None]
    assert len(unknown) == 2 and not set(unknown) & set(table)
    assert all(isinstance(sha, str) and len(sha) == 64 for sha in table.values())


# --- HTTP statuses, ranges and short bodies (fake requests.get) -------------------------------


class _Response:
    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                 length: int | None = None) -> None:
        self.status_code, self.body = status, body
        self.headers = dict(headers or {})
        self.headers["Content-Length"] = str(len(body) if length is None else length)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def iter_content(self, size: int) -> Iterator[bytes]:
        yield from (self.body[i:i + size] for i in range(0, len(self.body), size))


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> tuple[list[_Response], list[str | None]]:
    """Responses given in order to ``requests.get``; the Range header of each request."""
    queue: list[_Response] = []
    ranges: list[str | None] = []

    def fake_get(url: str, headers: dict[str, str], **kwargs: object) -> _Response:
        ranges.append(headers.get("Range"))
        return queue.pop(0)

    monkeypatch.setattr(dl.requests, "get", fake_get)
    return queue, ranges


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_server_errors_and_throttling_are_retried(answers, tmp_path, status: int):
    queue, ranges = answers
    queue += [_Response(status), _Response(200, BODY)]
    assert _fetch("http://x/a.bin", tmp_path / "a.bin").read_bytes() == BODY
    assert ranges == [None, None]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_fail_at_once_naming_the_status_and_leave_nothing(answers, tmp_path,
                                                                         status: int):
    queue, _ = answers
    queue += [_Response(status, b"<html>error page</html>"), _Response(200, BODY)]
    with pytest.raises(SourceUnavailableError, match=f"HTTP {status} after 1 tries"):
        _fetch("http://x/a.bin", tmp_path / "d" / "a.bin", sha=None)
    assert list(tmp_path.iterdir()) == []


def test_a_range_answered_from_another_offset_restarts_the_file(answers, tmp_path):
    queue, ranges = answers
    (tmp_path / "a.bin.part").write_bytes(BODY[:1000])
    # 206 but from byte 0: appending would put the first 1000 bytes twice.
    queue.append(_Response(206, BODY, {"Content-Range": f"bytes 0-{len(BODY) - 1}/{len(BODY)}"}))
    assert _fetch("http://x/a.bin", tmp_path / "a.bin", sha=None).read_bytes() == BODY
    assert ranges == ["bytes=1000-"]


def test_416_without_a_partial_file_is_an_error_not_an_empty_download(answers, tmp_path):
    queue, _ = answers
    queue.append(_Response(416))
    with pytest.raises(SourceUnavailableError, match="HTTP 416"):
        _fetch("http://x/a.bin", tmp_path / "a.bin", sha=None)
    assert not (tmp_path / "a.bin").exists()


def test_a_short_body_is_resumed_even_without_a_hash(answers, tmp_path):
    queue, ranges = answers
    queue += [_Response(200, BODY[:700], length=len(BODY)),
              _Response(206, BODY[700:], {"Content-Range": f"bytes 700-{len(BODY) - 1}/"
                                                           f"{len(BODY)}"})]
    assert _fetch("http://x/a.bin", tmp_path / "a.bin", sha=None).read_bytes() == BODY
    assert ranges == [None, "bytes=700-"]


def test_a_failed_resume_keeps_the_partial_body_for_the_next_try(closed_port_url, tmp_path):
    part = tmp_path / "d" / "a.bin.part"
    part.parent.mkdir()
    part.write_bytes(BODY[:900])
    with pytest.raises(SourceUnavailableError):
        _fetch(closed_port_url, tmp_path / "d" / "a.bin")
    assert part.read_bytes() == BODY[:900]


# --- catalogued files: bad originals, unknown hashes, conversion ------------------------------


def _converted(url: str, download_sha: str | None, sha: str | None = None) -> CatalogFile:
    return CatalogFile(relative="neural/monkey/rec.npz", url=url, sha256=sha,
                       download_sha256=download_sha, conversion=MYOW_PICKLE_TO_NPZ)


def test_a_kept_original_with_other_bytes_is_refused_not_unpickled(file_server, tmp_path):
    file_server.files["rec.pkl"] = BODY
    original = tmp_path / "neural/monkey/rec.pkl"
    original.parent.mkdir(parents=True)
    original.write_bytes(pickle.dumps({"data": []}))
    with pytest.raises(ChecksumError) as info:
        download_file(_converted(file_server.url("rec.pkl"), SHA), tmp_path, policy=FAST,
                      progress=False)
    assert str(original) in str(info.value) and "delete it and rerun" in str(info.value)
    assert file_server.requests == [] and not (tmp_path / "neural/monkey/rec.npz").exists()


@pytest.mark.parametrize("npz_sha", [None, SHA], ids=["npz-unknown", "npz-known"])
def test_a_pickle_without_a_known_hash_is_never_fetched_or_converted(file_server, tmp_path,
                                                                      npz_sha: str | None):
    file_server.files["rec.pkl"] = BODY
    entry = _converted(file_server.url("rec.pkl"), None, npz_sha)
    with pytest.raises(DataError, match="refusing to convert an unverified pickle") as info:
        download_file(entry, tmp_path, policy=FAST, progress=False)
    assert entry.url in str(info.value)
    assert file_server.requests == [] and list(tmp_path.iterdir()) == []


def test_a_plain_file_with_other_bytes_is_fetched_again(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    entry = CatalogFile(relative="x/a.bin", url=file_server.url("a.bin"), sha256=SHA)
    (tmp_path / "x").mkdir()
    (tmp_path / "x/a.bin").write_bytes(BODY[:-1] + b"!")
    result = download_file(entry, tmp_path, policy=FAST, timeout=5.0, progress=False)
    assert (result.verified, result.fetched) == (True, True)
    assert (tmp_path / "x/a.bin").read_bytes() == BODY


def test_a_pickle_without_trials_is_a_data_error_naming_it(tmp_path):
    src = tmp_path / "empty.pkl"
    src.write_bytes(pickle.dumps({"data": []}))
    with pytest.raises(DataError, match="holds no trials") as info:
        convert_myow_pickle(src, tmp_path / "out.npz")
    assert str(src) in str(info.value) and not (tmp_path / "out.npz").exists()


def test_a_corrupted_body_is_reported_naming_its_url_and_what_to_do(file_server, tmp_path):
    file_server.files["a.bin"] = BODY
    file_server.corrupt.add("a.bin")
    with pytest.raises(ChecksumError) as info:
        _fetch(file_server.url("a.bin"), tmp_path / "a.bin")
    message = str(info.value)
    assert f"download of {file_server.url('a.bin')} is corrupted" in message
    assert f"expected {SHA[:16]}..." in message and "deleted it, try again" in message


# --- loaders of the shared X-ray files and of vision sets -------------------------------------


def test_masks_are_int64_as_documented(shared_data):
    from mtneuro.data.shared import load_masks

    assert load_masks("zi", shared_data).dtype == np.int64


def test_cifar_without_a_root_is_looked_for_under_mtneuro_data_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MTNEURO_DATA", str(tmp_path))
    with pytest.raises(DataError) as info:
        load_vision("cifar100", "test")
    assert f"cifar100 not found under {tmp_path / 'cifar100'};" in str(info.value)


def test_a_class_folder_named_train_without_test_is_a_class_not_a_split(tmp_path):
    from PIL import Image

    for name in ("train", "tram"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(np.full((9, 9), 40 * i, np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_vision("folder", "all", root=tmp_path, image_size=8, channels=1)
    assert data.classes == ("train", "tram") and data.labels.tolist() == [0] * 4 + [1] * 4
    assert data.name == f"folder:{tmp_path.name}/all"


def test_digit_counts_0_to_16_are_rounded_onto_0_to_255():
    values = np.unique(load_vision("digits", "all").images.numpy())
    # k * 255 / 16 rounded to nearest (8 -> 127.5 -> 128, ties to even)
    assert values.tolist() == [0, 16, 32, 48, 64, 80, 96, 112, 128, 143, 159, 175, 191, 207,
                               223, 239, 255]
