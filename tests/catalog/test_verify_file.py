"""``verify_file`` with an explicit expected SHA-256: the right hash passes, any other is a
one-line ``ChecksumError`` naming both hashes, a missing file a ``DataError``."""

from __future__ import annotations

import hashlib

import pytest

from mtneuro.data.checksums import verify_file
from mtneuro.errors import ChecksumError, DataError

CONTENT = b"mtneuro verify_file test bytes\n"


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "sample.bin"
    path.write_bytes(CONTENT)
    return path


def test_the_right_hash_passes_and_returns_the_path(data_file):
    right = hashlib.sha256(CONTENT).hexdigest()
    assert verify_file(data_file, expected=right) == data_file
    assert verify_file(str(data_file), expected=right) == data_file  # a str path as well


def test_another_hash_is_refused_naming_both(data_file):
    actual = hashlib.sha256(CONTENT).hexdigest()
    with pytest.raises(ChecksumError) as raised:
        verify_file(data_file, expected="0" * 64)
    message = str(raised.value)
    assert "\n" not in message and str(data_file) in message
    assert "0" * 16 in message and actual[:16] in message


def test_a_changed_file_is_refused(data_file):
    right = hashlib.sha256(CONTENT).hexdigest()
    data_file.write_bytes(CONTENT[:-1] + b"!")  # one byte differs
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        verify_file(data_file, expected=right)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        verify_file(tmp_path / "absent.bin", expected="0" * 64)
