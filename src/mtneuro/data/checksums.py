"""SHA-256 of the real data files the tool knows, and verification.

Paths are relative to a data root laid out like ``../shared/data``
(``neural/monkey/...``, ``neural/rodent/...``, ``xray_masks/...``,
``xray_slice/...``). The hashes are the catalogue's (:mod:`mtneuro.data.catalog`),
which a test compares with that folder's ``SHA256SUMS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mtneuro.data.catalog import CatalogFile, catalog_sha256
from mtneuro.data.paths import candidate_roots
from mtneuro.errors import ChecksumError, DataError

#: Relative path -> SHA-256 of every real data file whose hash is known, from the catalogue.
KNOWN_SHA256: dict[str, str] = catalog_sha256()


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | Path, expected: str | None = None, *, relative: str | None = None) -> Path:
    """Check ``path`` against ``expected`` (or the known hash of ``relative``).

    Raises:
        DataError: the file does not exist.
        ChecksumError: its SHA-256 differs; the message names both hashes.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    if expected is None and relative is not None:
        expected = KNOWN_SHA256.get(relative)
    if expected is None:
        return path
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {expected[:16]}..., got {actual[:16]}...; "
            "the file is corrupted or a different version: download it again"
        )
    return path


FileState = Literal["verified", "unverified", "checksum mismatch", "missing"]


@dataclass(frozen=True)
class FileStatus:
    """Where a catalogued file was found in the lookup order and whether it checks out.

    Attributes:
        root_label: which root holds it (``"explicit path"``, ``"$MTNEURO_DATA"``,
            ``"user cache"``, ``"packaged samples"``), ``None`` if missing.
        path: the file found, ``None`` if missing.
        state: ``verified`` (SHA-256 matches), ``unverified`` (no known hash),
            ``checksum mismatch`` or ``missing``.
    """

    root_label: str | None
    path: Path | None
    state: FileState


def local_status(file: CatalogFile, root: str | Path | None = None) -> FileStatus:
    """Find ``file`` in the same lookup order as loaders use and check its SHA-256."""
    for label, base in candidate_roots(root):
        path = base / file.relative
        if path.is_file():
            if file.sha256 is None:
                return FileStatus(label, path, "unverified")
            ok = sha256_file(path) == file.sha256
            return FileStatus(label, path, "verified" if ok else "checksum mismatch")
    return FileStatus(None, None, "missing")
