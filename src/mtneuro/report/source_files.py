"""The files a run read, by the SHA-256 its record holds (``source.files``: path -> digest).

Two recordings of the user's named alike (``a/four.npz``, ``b/four.npz``) give runs of one
setting and one data-source label, and may even share their labels; only the files' digests
tell them apart. A record without digests (a volume source, or one written before they were
kept) says nothing either way.

>>> record = {"source": {"files": {"a/four.npz": "12ab"}}}
>>> different_files(record, {"source": {"files": {"b/four.npz": "34cd"}}})
'a/four.npz (SHA-256 12ab) and b/four.npz (SHA-256 34cd)'
>>> different_files(record, {"source": {"files": {"copy/four.npz": "12ab"}}}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtneuro.errors import ConfigError

#: the digest's first characters an error shows (enough to tell two files apart)
SHOWN = 12


def recorded_files(record: Mapping[str, Any]) -> dict[str, str] | None:
    """``{path: SHA-256}`` of the files ``record``'s run read, ``None`` where it records none."""
    source = record.get("source")
    files = source.get("files") if isinstance(source, Mapping) else None
    if not isinstance(files, Mapping) or not files:
        return None
    return {str(path): str(digest) for path, digest in files.items()}


def different_files(record_a: Mapping[str, Any], record_b: Mapping[str, Any]) -> str | None:
    """``"<path> (SHA-256 <digest>) and <path> (SHA-256 <digest>)"``: the files each run read
    that the other did not (by content: the same file moved or copied is the same), else
    ``None``, also where either record holds no digests."""
    files_a, files_b = recorded_files(record_a), recorded_files(record_b)
    if files_a is None or files_b is None or set(files_a.values()) == set(files_b.values()):
        return None

    def only(files: dict[str, str], other: dict[str, str]) -> str:
        return ", ".join(f"{path} (SHA-256 {digest[:SHOWN]})" for path, digest in files.items()
                         if digest not in other.values()) or "no other file"

    return f"{only(files_a, files_b)} and {only(files_b, files_a)}"


def check_one_recording(records: Sequence[Mapping[str, Any]], name: str) -> None:
    """Refuse the seeds of one side of a comparison (``name``) that read different files
    (a seed folder copied in from a run of another file named alike): pooled, their test
    samples would be compared as one recording's."""
    for record in records[1:]:
        files = different_files(records[0], record)
        if files is not None:
            raise ConfigError(f"{name}: its runs read different files: {files} differ; "
                              "compare runs of one recording file")
