"""SHA-256 of the real data files the tool knows, and verification.

Paths are relative to a data root laid out like ``../shared/data``
(``neural/monkey/...``, ``neural/rodent/...``, ``xray_masks/...``,
``xray_slice/...``). The hashes of the files are the catalogue's
(:mod:`mtneuro.data.catalog`), which a test compares with that folder's ``SHA256SUMS``.

A file mtneuro converts on download (the monkey ``.npz``) is also known by the hash of
its arrays (:data:`KNOWN_CONTENT_SHA256`, :func:`arrays_sha256`): the zip bytes
``np.savez_compressed`` writes depend on the writer (zlib build, NumPy, platform: a
Windows Python stamps another "created by" system in every zip entry), so two
conversions of the same verified original may differ in bytes but never in arrays.
Such a file is accepted when its bytes are the catalogue's *or* its arrays are;
a file with any other value, array, dtype or shape is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mtneuro.data.catalog import CatalogFile, catalog_sha256
from mtneuro.data.numpy_files import read_arrays
from mtneuro.errors import ChecksumError, DataError

#: Relative path -> SHA-256 of every real data file whose hash is known, from the catalogue.
KNOWN_SHA256: dict[str, str] = catalog_sha256()

#: Relative path -> :func:`arrays_sha256` of each file converted on download. Computed from
#: the conversion of the published pickles (nerdslab/myow-neuro at the catalogue's commit,
#: whose SHA-256 are the catalogue's ``download_sha256``); a test recomputes those in
#: ``../shared/data`` and the packaged sample.
KNOWN_CONTENT_SHA256: dict[str, str] = {
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz":
        "4aef0250fbb528a044a1429a35b627f86b06d1374a8c57dea3c11bebe0f6d7ba",
    "neural/monkey/full-chewie-10032013-bin0.05-vel_thresh5.00.npz":
        "0fd61264a5533ccb7cdc69ec3e22a5d098691dca278ff9dbb3ce0b179f060628",
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh0.00.npz":
        "a0323f56a9c3b3e581410852fcd80fd32f4c9c6642cb310b8b4c9088e7a9d66a",
    "neural/monkey/full-chewie-12192013-bin0.10-vel_thresh5.00.npz":
        "a682ccda0c6cc386c52609c9e40e34a6dd2172a67fc64a5b088878405133890c",
    "neural/monkey/full-mihi-03032014-bin0.10-vel_thresh5.00.npz":
        "3ad6ae7b2134f8e2a51e46b14f9a44fb090abf5d6c34c52014729311330fe84b",
}

_ARRAYS_FORMAT = b"mtneuro-arrays-sha256/1\n"  # names this definition, should it ever change


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of named arrays, independent of how they were stored.

    Arrays are taken in sorted name order; each contributes its name, dtype (byte order
    made little-endian), shape and values in C order, so member order, compression,
    zip timestamps or a Fortran / big-endian layout of the same values do not change it.
    """
    digest = hashlib.sha256(_ARRAYS_FORMAT)
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        # "|": no byte order (bytes, bool); "=" is big-endian on a big-endian machine
        dtype = array.dtype if array.dtype.byteorder == "|" else array.dtype.newbyteorder("<")
        values = np.ascontiguousarray(array, dtype=dtype)
        header = json.dumps([name, values.dtype.str, list(values.shape)]).encode()
        # the header's length first: name, dtype and shape can never run into the values
        digest.update(len(header).to_bytes(8, "little") + header)
        digest.update(values.tobytes())
    return digest.hexdigest()


def npz_content_sha256(path: str | Path) -> str:
    """:func:`arrays_sha256` of a ``.npz``, read without unpickling.

    Raises:
        DataError: the file is no readable ``.npz`` (damaged zip, failed CRC, objects).
    """
    return arrays_sha256(read_arrays(Path(path)))


FileState = Literal["verified", "unverified", "checksum mismatch", "missing"]


@dataclass(frozen=True)
class FileCheck:
    """The result of :func:`check_file`.

    Attributes:
        state: ``verified`` (bytes or arrays as known), ``unverified`` (nothing known)
            or ``checksum mismatch``.
        sha256: SHA-256 of the file's bytes as read.
        reason: one line saying what matched, or what did not.
    """

    state: FileState
    sha256: str
    reason: str = ""


def check_file(
    path: str | Path, sha256: str | None, content_sha256: str | None = None
) -> FileCheck:
    """Check an existing file against its known SHA-256 and, for a converted ``.npz``,
    the known :func:`arrays_sha256` of its arrays (either passing is enough)."""
    actual = sha256_file(path)
    if sha256 is None and content_sha256 is None:
        return FileCheck("unverified", actual, "no known SHA-256")
    if actual == sha256:
        return FileCheck("verified", actual)
    expected = f"sha256 {sha256[:16]}..., got {actual[:16]}..." if sha256 else ""
    if content_sha256 is None:
        return FileCheck("checksum mismatch", actual, f"expected {expected}")
    try:
        content = npz_content_sha256(path)
    except DataError as err:
        return FileCheck("checksum mismatch", actual, f"its arrays cannot be read ({err})")
    if content == content_sha256:
        return FileCheck("verified", actual, "same arrays as the reference conversion; "
                                             "the zip bytes differ (another NumPy / zlib writer)")
    arrays = f"arrays sha256 {content_sha256[:16]}..., got {content[:16]}..."
    return FileCheck("checksum mismatch", actual,
                     f"expected {expected + ' or ' if expected else ''}{arrays}")


def check_known(path: str | Path, relative: str) -> FileCheck:
    """:func:`check_file` against what is known of the catalogued file at ``relative``."""
    return check_file(path, KNOWN_SHA256.get(relative), KNOWN_CONTENT_SHA256.get(relative))


def _passed(path: Path, check: FileCheck) -> FileCheck:
    """``check`` of the existing file ``path``, unless it is a mismatch.

    Raises:
        ChecksumError: one line naming the file and what did not match.
    """
    if check.state == "checksum mismatch":
        raise ChecksumError(
            f"checksum mismatch for {path}: {check.reason}; "
            "the file is corrupted or a different version: download it again"
        )
    return check


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    return path


def verify_known(path: str | Path, relative: str) -> str:
    """SHA-256 of ``path`` after :func:`check_known` passed (or nothing is known of it).

    Raises:
        DataError: the file does not exist.
        ChecksumError: neither its bytes nor (converted files) its arrays are the known
            ones; one line.
    """
    path = _existing(path)
    return _passed(path, check_known(path, relative)).sha256


def verify_file(
    path: str | Path, expected: str | None = None, *, relative: str | None = None
) -> Path:
    """Check ``path`` against ``expected`` (or what is known of ``relative``: its SHA-256
    or, for a converted file, its arrays; see :func:`verify_known`).

    Raises:
        DataError: the file does not exist.
        ChecksumError: its SHA-256 differs; the message names both hashes.
    """
    path = _existing(path)
    if expected is not None:
        _passed(path, check_file(path, expected))
    elif relative is not None:
        _passed(path, check_known(path, relative))
    return path


def catalogued_check(file: CatalogFile, path: str | Path) -> FileCheck:
    """:func:`check_file` of ``path`` as catalogued ``file`` (the download and ``mtneuro
    data list``; the loaders reach the same :func:`check_file` through :func:`verify_known`)."""
    return check_file(path, file.sha256, KNOWN_CONTENT_SHA256.get(file.relative))
