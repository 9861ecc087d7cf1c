"""Which neural recordings the catalogue holds, and whether a path is one of them.

:data:`RECORDINGS` names every neural dataset of :mod:`mtneuro.data.catalog`;
:func:`catalogued_place` and :func:`catalogued_name` tell a catalogued recording's file from
a user's by where it sits, not by its name (read by :mod:`mtneuro.data.neural` and by the
neural protocol card). Only :func:`checked_sha256` reads a file: it hashes the one loaded.
"""

from __future__ import annotations

from pathlib import Path

from mtneuro.data.catalog import CATALOG
from mtneuro.data.checksums import KNOWN_CONTENT_SHA256, KNOWN_SHA256, sha256_file, verify_known
from mtneuro.data.numpy_files import unreadable


def _catalogued_recordings() -> dict[str, tuple[str, ...]]:
    """Every neural dataset of the catalogue (:mod:`mtneuro.data.catalog`) -> its files'
    paths under a data root, in catalogue order (rodent: rates first, then states)."""
    return {d.name: tuple(f.relative for f in d.files) for d in CATALOG.values()
            if d.files[0].relative.startswith("neural/")}


#: Named recordings -> paths relative to a data root (``--data NAME``): every neural
#: dataset of the catalogue, whether or not its files are present here.
RECORDINGS: dict[str, tuple[str, ...]] = _catalogued_recordings()


def catalogued_place(path: Path) -> str | None:
    """The catalogue's ``neural/...`` path of a file at that place under some root (path
    resolved), else ``None``: a user's pair may be named as mouse-ca1's files are."""
    parts = path.resolve().parts
    names = [*KNOWN_SHA256, *KNOWN_CONTENT_SHA256]  # ordered: the same choice every run
    return next((rel for rel in names if rel.startswith("neural/")
                 and parts[-len(Path(rel).parts):] == Path(rel).parts), None)


def catalogued_name(spec: str | Path) -> str | None:
    """The catalogue's name of the recording ``spec`` names: itself if a catalogued name,
    else that of the recording whose file sits at the path's place (:func:`catalogued_place`;
    no file is read, so loading it still checks its SHA-256); ``None`` for a user's file,
    however it is named."""
    if str(spec) in RECORDINGS:
        return str(spec)
    place = catalogued_place(Path(spec).expanduser())
    return next((name for name, files in RECORDINGS.items() if place in files), None)


def checked_sha256(path: Path) -> str:
    """SHA-256 of ``path``, checked first when its name is a catalogued neural file.

    The check is the download's (:func:`mtneuro.data.checksums.verify_known`): the file's
    bytes are the catalogue's or, for a monkey ``.npz`` converted on download, its arrays
    are, so a conversion written by another NumPy / zlib loads and an edited one does not.
    """
    known = catalogued_place(path)
    try:
        return sha256_file(path) if known is None else verify_known(path, known)
    except OSError as err:
        raise unreadable(path, err) from None
