"""Where real data files are found.

Lookup order for a file given by its path relative to a data root (the
layout of ``../shared/data``): an explicit root, then ``$MTNEURO_DATA``, then
the user cache directory (``$XDG_CACHE_HOME/mtneuro`` or ``~/.cache/mtneuro``),
then the samples packaged with mtneuro.
"""

from __future__ import annotations

import os
from pathlib import Path

from mtneuro.errors import DataError

ENV_VAR = "MTNEURO_DATA"
PACKAGED_ROOT = Path(__file__).resolve().parents[1] / "resources" / "data"


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtneuro"


def candidate_roots(explicit: str | Path | None = None) -> list[tuple[str, Path]]:
    """(label, root) pairs in lookup order."""
    roots: list[tuple[str, Path]] = []
    if explicit is not None:
        roots.append(("explicit path", Path(explicit)))
    if os.environ.get(ENV_VAR):
        roots.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    roots.append(("user cache", user_cache_dir()))
    roots.append(("packaged samples", PACKAGED_ROOT))
    return roots


def find_data_file(relative: str, root: str | Path | None = None) -> Path:
    """First existing ``<root>/<relative>`` in lookup order, else a :class:`DataError`
    naming every place searched and how to get the file."""
    searched = []
    for label, base in candidate_roots(root):
        path = base / relative
        if path.is_file():
            return path
        searched.append(f"{label} {base}")
    raise DataError(
        f"{relative} not found (searched: {'; '.join(searched)}); pass --data-root DIR, "
        f"set {ENV_VAR}, or run `mtneuro data download` for it"
    )
