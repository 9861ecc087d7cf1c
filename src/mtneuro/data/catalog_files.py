"""A catalogued file under the data roots: where it is, whether it checks out and why not,
and its repair from a verified copy found elsewhere in the lookup order.

``mtneuro data list`` shows :func:`file_report` of every file (a failing one with its one-line
reason) and ``mtneuro data download`` repairs a target that fails its check with
:func:`replace_with_copy` before it tries the network.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtneuro.data.catalog import CatalogFile
from mtneuro.data.checksums import KNOWN_CONTENT_SHA256, catalogued_check
from mtneuro.data.paths import candidate_roots

#: States a present file can fail with (a file that is not there is no failure).
FAILED_STATES = ("checksum mismatch", "unreadable")

_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the empty IEND chunk closing every PNG


@dataclass(frozen=True)
class FileReport:
    """A catalogued file as found in the lookup order.

    Attributes:
        root_label: which root holds it (as :func:`mtneuro.data.paths.candidate_roots`
            names it), ``None`` if missing.
        path: the file found, ``None`` if missing.
        state: ``verified``, ``unverified`` (no known hash), ``checksum mismatch``,
            ``unreadable`` (the file cannot be read) or ``missing``.
        reason: one line saying what did not match (failed states), else ``""`` or what
            matched.
    """

    root_label: str | None
    path: Path | None
    state: str
    reason: str = ""

    @property
    def failed(self) -> bool:
        """The file is there but fails its check: loading it would be refused."""
        return self.state in FAILED_STATES


def check_at(file: CatalogFile, path: Path, root_label: str | None = None) -> FileReport:
    """The loaders' check of the existing ``path`` as catalogued ``file``, with its reason."""
    try:
        check = catalogued_check(file, path)
    except OSError as err:  # permissions, an I/O error: the loaders could not read it either
        return FileReport(root_label, path, "unreadable", err.strerror or str(err))
    if check.state != "checksum mismatch":
        return FileReport(root_label, path, check.state, check.reason)
    reason = check.reason.replace(f"{path}: ", "")  # the path leads the line already
    if file.sha256 and not reason.startswith("expected"):  # arrays unreadable: bytes too
        reason = f"expected sha256 {file.sha256[:16]}..., got {check.sha256[:16]}...; {reason}"
    cut = truncation(path)
    if cut:
        reason = f"truncated: {cut}; {reason}"
    return FileReport(root_label, path, check.state, reason)


def _copies(file: CatalogFile, root: str | Path | None = None
            ) -> Iterator[tuple[str, Path, OSError | None]]:
    """``(root label, path, error)`` of every copy of ``file`` in the loaders' lookup order;
    ``error`` is why a place could not even be looked at (a folder on the way at mode 000):
    a copy may be there, which the loaders could not read either."""
    for label, base in candidate_roots(root):
        path = base / file.relative
        try:
            if path.is_file():
                yield label, path, None
        except OSError as err:
            yield label, path, err


def file_report(file: CatalogFile, root: str | Path | None = None) -> FileReport:
    """The first copy of ``file`` in the loaders' lookup order, checked, with the reason
    when it fails."""
    for label, path, error in _copies(file, root):
        if error is not None:
            return FileReport(label, path, "unreadable", f"cannot look for it there "
                              f"({error.strerror or error}); fix the permissions of its folder")
        return check_at(file, path, label)
    return FileReport(None, None, "missing")


def truncation(path: Path) -> str | None:
    """What shows ``path`` to be cut short, from its own format (``.npy`` header, zip
    directory, PNG end chunk), or ``None`` when nothing does."""
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if suffix == ".npz" and not zipfile.is_zipfile(path):
        # the zip directory is at the end of the file: the first thing a cut loses
        return f"{size} bytes and no zip directory at its end"
    if suffix == ".png":
        with open(path, "rb") as handle:
            handle.seek(max(size - len(_PNG_END), 0))
            if handle.read() != _PNG_END:
                return f"{size} bytes and no PNG end chunk"
    if suffix == ".npy":
        return _npy_truncation(path, size)
    return None


def _npy_truncation(path: Path, size: int) -> str | None:
    """How a ``.npy`` of ``size`` bytes falls short of what its header announces."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as handle:
            version = fmt.read_magic(handle)
            length_bytes = 2 if version == (1, 0) else 4
            header_end = handle.tell() + length_bytes + int.from_bytes(
                handle.read(length_bytes), "little")
            if size < header_end:
                return f"{size} bytes, within its {header_end}-byte .npy header"
            handle.seek(0)
            fmt.read_magic(handle)
            read_header = {(1, 0): fmt.read_array_header_1_0,
                           (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                return None  # a version this check does not parse
            shape, _, dtype = read_header(handle)
    except (ValueError, OSError, SyntaxError):
        return None  # no .npy at all: the checksum says the rest
    if dtype.hasobject:
        return None  # pickled objects: no fixed size
    announced = header_end + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return f"{size} of the {announced} bytes its header announces" if size < announced else None


def can_verify(file: CatalogFile) -> bool:
    """Whether anything is known to verify ``file`` by (its SHA-256 or its arrays')."""
    return file.sha256 is not None or file.relative in KNOWN_CONTENT_SHA256


def verified_copy(file: CatalogFile, exclude: Path) -> FileReport | None:
    """The first copy of ``file`` in the lookup order (no explicit root) that verifies,
    other than ``exclude``; ``None`` when there is none."""
    for label, path, error in _copies(file):
        if error is not None or path.resolve() == exclude.resolve():
            continue
        found = check_at(file, path, label)
        if found.state == "verified":
            return found
    return None


def replace_with_copy(file: CatalogFile, source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` atomically: written beside it under a temporary name,
    checked, then renamed over it, so a reader never sees a part-written file and a copy
    that does not verify (``source`` changed meanwhile) never replaces anything.

    Returns:
        whether ``target`` now holds the verified copy.
    """
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    # the suffix kept: the check reads a .npz's arrays by it (a copy verified by its arrays)
    temporary = target.with_name(f".copy-{os.getpid()}-{target.name}")
    try:
        shutil.copyfile(source, temporary)
        if check_at(file, temporary).state != "verified":
            return False
        os.replace(temporary, target)
        return True
    finally:
        temporary.unlink(missing_ok=True)
