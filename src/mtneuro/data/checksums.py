"""SHA-256 of every real data file the tool knows, and verification.

Paths are relative to a data root laid out like ``../shared/data``
(``neural/monkey/...``, ``neural/rodent/...``, ``xray_masks/...``,
``xray_slice/...``). Values copied from that folder's ``SHA256SUMS``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mtneuro.errors import ChecksumError, DataError

KNOWN_SHA256: dict[str, str] = {
    "neural/monkey/full-chewie-10032013-bin0.05-vel_thresh5.00.npz": "ad202880c447ab92cb41ee4cb3972102d6b7336379ed35d16a93c3774b296edc",
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh0.00.npz": "6cb08a081c7ec244d0f65885e5157c3fde6493dc603a5bd7d8d5860815ac012a",
    "neural/monkey/full-chewie-10032013-bin0.10-vel_thresh5.00.npz": "bf56f12a953d866f42e65fdd11f0d717997cef525557a6cf90f37b00ceffa289",
    "neural/rodent/behav_states_n_4full.npy": "7d0679a2a1b3a221b060cd7aa76ac59d371d74a8aad4c496b2559c3e23abd1ca",
    "neural/rodent/fr_bins_n_4full.npy": "75eb62fecd81899be546cf4770c0cf66afe4ae9f957b9bfdd5ebe5d0a00317bc",
    "xray_masks/masks_ctx.npz": "3a3058c1a9734cc73cacee8e38b20b5bb9ce76df1347447ea2a870e75874cb97",
    "xray_masks/masks_str.npz": "f9bf9ad92b5fd58fbe9f15bd02be066ebe0b6246f559b55d184f9e10caef7e96",
    "xray_masks/masks_trn.npz": "c29fd0a28b8f81622204ad85f0010326a3486b11867058050cc212e9291af856",
    "xray_masks/masks_zi.npz": "e26ab9940625b24158cbfc69acdd04d3ee642591b6848bfc0d824831c4787346",
    "xray_slice/slice_z309.png": "1e29ed9915df27ead1676668180e95c19332632a456725506d4361dbb23e9f2a",
}


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


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
