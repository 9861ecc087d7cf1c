"""Converted recordings: the download, ``data list`` and the loader agree on what is verified.

A monkey ``.npz`` is written by the converter on the user's machine, so its zip bytes depend
on that machine's writer (zlib build, NumPy, a Windows Python's "created by" field). Its
arrays do not: a conversion with the catalogue's arrays verifies everywhere, and one with
any other value is refused everywhere. The writers here are simulated with ``zipfile``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest

from mtneuro.data.catalog import CATALOG, MYOW_PICKLE_TO_NPZ, CatalogFile
from mtneuro.data.catalog_files import file_report
from mtneuro.data.checksums import (
    KNOWN_CONTENT_SHA256,
    KNOWN_SHA256,
    arrays_sha256,
    npz_content_sha256,
    sha256_file,
)
from mtneuro.data.download import CONVERTERS, download_file
from mtneuro.data.neural import RECORDINGS, load_file
from mtneuro.data.retry import RetryPolicy
from mtneuro.errors import ChecksumError, DataError

CHEWIE = RECORDINGS["chewie-1"][0]
FAST = RetryPolicy(max_attempts=2, max_seconds=30.0, base_delay=0.0, max_delay=0.0)
ORIGINAL = b"the published pickle, as far as these tests care"


def write_npz(path, arrays, *, reverse=False, compression=zipfile.ZIP_DEFLATED, level=None,
              create_system=None, date_time=(1980, 1, 1, 0, 0, 0)):
    """Write ``arrays`` as ``np.savez`` members would be, with another writer's choices."""
    names = list(arrays)[::-1] if reverse else list(arrays)
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=date_time)
            if create_system is not None:
                info.create_system = create_system  # 0: what any Windows Python stamps
            archive.writestr(info, buffer.getvalue(), compress_type=compression,
                             compresslevel=level)
    return path


WRITERS = {
    "stored-reversed": {"reverse": True, "compression": zipfile.ZIP_STORED},
    "level9-windows": {"level": 9, "create_system": 0},
    "level1-dated": {"level": 1, "date_time": (2024, 5, 17, 13, 2, 8)},
}


@pytest.fixture(scope="module")
def chewie(packaged_data):
    """The catalogue's arrays of chewie-1 (the packaged sample is the reference conversion)."""
    with np.load(packaged_data / CHEWIE) as npz:
        return {key: npz[key] for key in npz.files}


def _named_like_the_catalogue(tmp_path):
    path = tmp_path / CHEWIE
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _one_value_changed(arrays):
    changed = {key: value.copy() for key, value in arrays.items()}
    changed["firing_rates"][7, 3] += 10.0  # one more spike in one bin: plausible, but not the data
    return changed


# --- the arrays hash -----------------------------------------------------------------------


def test_arrays_hash_ignores_how_the_file_was_written(chewie, tmp_path):
    expected = KNOWN_CONTENT_SHA256[CHEWIE]
    layouts = {**chewie, "firing_rates": np.asfortranarray(chewie["firing_rates"]),
               "trial": chewie["trial"].astype(">i8")}
    assert arrays_sha256(layouts) == expected
    for name, writer in WRITERS.items():
        path = write_npz(tmp_path / f"{name}.npz", chewie, **writer)
        assert sha256_file(path) != KNOWN_SHA256[CHEWIE], name  # other bytes ...
        assert npz_content_sha256(path) == expected, name  # ... same arrays


def test_arrays_hash_sees_every_change_of_the_arrays(chewie):
    reference = arrays_sha256(chewie)
    rates = chewie["firing_rates"]
    others = {
        "one value": _one_value_changed(chewie),
        "a dtype": {**chewie, "firing_rates": rates.astype(np.float64)},
        "a shape": {**chewie, "firing_rates": rates.reshape(rates.shape[1], rates.shape[0])},
        "a name": {**{k: v for k, v in chewie.items() if k != "vel"}, "velocity": chewie["vel"]},
        "an extra array": {**chewie, "extra": np.zeros(1)},
        "a missing array": {k: v for k, v in chewie.items() if k != "force"},
    }
    for what, arrays in others.items():
        assert arrays_sha256(arrays) != reference, what


def test_every_converted_catalogue_file_has_an_arrays_hash():
    converted = {f.relative for d in CATALOG.values() for f in d.files if f.conversion}
    assert converted and set(KNOWN_CONTENT_SHA256) == converted


def test_arrays_hashes_are_those_of_the_real_files(shared_data, packaged_data):
    checked = 0
    for root in (packaged_data, shared_data):
        for relative, content in KNOWN_CONTENT_SHA256.items():
            if (root / relative).is_file():
                assert sha256_file(root / relative) == KNOWN_SHA256[relative], relative
                assert npz_content_sha256(root / relative) == content, relative
                checked += 1
    assert checked >= 4  # the packaged sample and chewie-1's three files in ../shared/data


# --- loading -------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_conversion_by_another_writer_loads_and_lists_as_verified(chewie, tmp_path, writer):
    path = write_npz(_named_like_the_catalogue(tmp_path), chewie, **WRITERS[writer])
    rec = load_file(path)
    np.testing.assert_array_equal(rec.rates, chewie["firing_rates"])
    assert rec.files == {str(path): sha256_file(path)}  # provenance: the bytes actually read
    assert file_report(CATALOG["chewie-1"].files[0], tmp_path).state == "verified"


def test_a_file_with_one_changed_value_is_refused_in_one_line(chewie, tmp_path):
    path = _named_like_the_catalogue(tmp_path)
    np.savez_compressed(path, **_one_value_changed(chewie))  # the reference writer itself
    with pytest.raises(ChecksumError, match="arrays sha256") as info:
        load_file(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert file_report(CATALOG["chewie-1"].files[0], tmp_path).state == "checksum mismatch"


@pytest.mark.parametrize("offset", [100, 294, 2000, 20_000, 34_000])
def test_damaged_bytes_of_the_arrays_are_refused_in_one_line(packaged_data, tmp_path, offset):
    body = bytearray((packaged_data / CHEWIE).read_bytes())
    # inside the deflated firing rates: 100 and 294 break the deflate stream (zlib.error),
    # the others decode to other bytes that fail the member's CRC-32
    body[offset] ^= 1
    path = _named_like_the_catalogue(tmp_path)
    path.write_bytes(bytes(body))
    with pytest.raises(ChecksumError, match="cannot be read") as info:
        load_file(path)
    assert "\n" not in str(info.value)


class _Runs:
    """An object whose unpickling would run code: it must never be unpickled."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Runs.ran = True
    return "ran"


def test_object_arrays_under_a_known_name_are_refused_without_unpickling(chewie, tmp_path):
    path = _named_like_the_catalogue(tmp_path)
    np.savez(path, **{**chewie, "label": np.array([_Runs()], dtype=object)})
    with pytest.raises(ChecksumError, match="Python objects") as info:
        load_file(path)
    assert "\n" not in str(info.value) and not _Runs.ran


# --- download, list and load agree ---------------------------------------------------------


def _served(file_server, monkeypatch, write):
    """chewie-1 as catalogued, its original served locally and converted by ``write``."""
    file_server.files["chewie.pkl"] = ORIGINAL

    def convert(src, dest):
        assert src.read_bytes() == ORIGINAL  # only a verified original reaches the converter
        return write(dest)

    monkeypatch.setitem(CONVERTERS, MYOW_PICKLE_TO_NPZ, convert)
    catalogued = CATALOG["chewie-1"].files[0]
    return CatalogFile(relative=catalogued.relative, url=file_server.url("chewie.pkl"),
                       sha256=catalogued.sha256,
                       download_sha256=hashlib.sha256(ORIGINAL).hexdigest(),
                       conversion=MYOW_PICKLE_TO_NPZ)


def _download(entry, root):
    return download_file(entry, root, policy=FAST, timeout=5.0, progress=False)


def test_a_conversion_by_another_writer_is_verified_by_download_list_and_load(
        chewie, file_server, monkeypatch, tmp_path):
    windows = WRITERS["level9-windows"]
    entry = _served(file_server, monkeypatch, lambda dest: write_npz(dest, chewie, **windows))
    result = _download(entry, tmp_path)
    assert result.verified and result.fetched and "same arrays" in result.note
    assert sha256_file(result.path) != entry.sha256
    assert file_report(entry, tmp_path).state == "verified"
    assert load_file(result.path).n_trials == 159
    assert not (tmp_path / entry.download_relative).exists()
    again = _download(entry, tmp_path)  # verified where it lies: not fetched again
    assert again.verified and not again.fetched and len(file_server.requests) == 1


def test_a_conversion_with_other_values_is_refused_by_download_list_and_load(
        chewie, file_server, monkeypatch, tmp_path):
    entry = _served(file_server, monkeypatch,
                    lambda dest: np.savez_compressed(dest, **_one_value_changed(chewie)))
    with pytest.raises(ChecksumError, match="not the catalogue's") as info:
        _download(entry, tmp_path)
    assert "\n" not in str(info.value)
    assert not (tmp_path / entry.relative).exists()  # nothing left that the loader refuses
    assert sha256_file(tmp_path / entry.download_relative) == entry.download_sha256  # kept
    assert file_report(entry, tmp_path).root_label != "explicit path"


def test_a_damaged_conversion_is_downloaded_again_and_then_loads(
        chewie, file_server, monkeypatch, tmp_path):
    entry = _served(file_server, monkeypatch, lambda dest: write_npz(dest, chewie))
    target = _named_like_the_catalogue(tmp_path)
    np.savez_compressed(target, **_one_value_changed(chewie))
    with pytest.raises(DataError):
        load_file(target)
    result = _download(entry, tmp_path)
    assert result.verified and result.fetched
    np.testing.assert_array_equal(load_file(target).rates, chewie["firing_rates"])
