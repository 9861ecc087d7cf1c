"""Where real data files are found.

Lookup order for a file given by its path relative to a data root (the
layout of ``../shared/data``): an explicit root, then ``$MTNEURO_DATA``, then
the user cache directory (``$XDG_CACHE_HOME/mtneuro`` or ``~/.cache/mtneuro``),
then the samples packaged with mtneuro.

An explicit root must be an existing folder (a mistyped one is an error, never a reason to
read another root); one that exists but lacks the file is passed over with a warning naming
the file read. A ``$MTNEURO_DATA`` that is not a folder is passed over with a warning.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from mtneuro.errors import DataError

ENV_VAR = "MTNEURO_DATA"
PACKAGED_ROOT = Path(__file__).resolve().parents[1] / "resources" / "data"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mtneuro``, or ``~/.cache/mtneuro``: where downloads go by default
    (the third root of the lookup order)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtneuro"


def check_root(
    root: str | Path | None, name: str = "data root", expected: str = "an existing data root"
) -> Path | None:
    """``root`` as a path, ``None`` for none; a :class:`DataError` naming ``name`` (the
    option or parameter that gave it) and what was ``expected`` where it is not a folder."""
    if root is None:
        return None
    if not Path(root).is_dir():
        what = "a file" if Path(root).exists() else "not there"
        raise DataError(f"{name}: {root} is not a folder ({what}); expected {expected}, "
                        "or no root for the default lookup")
    return Path(root)


def candidate_roots(explicit: str | Path | None = None) -> list[tuple[str, Path]]:
    """(label, root) pairs in lookup order, each folder once (under its first label)."""
    roots: list[tuple[str, Path]] = []
    if explicit is not None:
        roots.append(("explicit path", Path(explicit)))
    env = os.environ.get(ENV_VAR)
    if env:
        if not Path(env).is_dir():
            # Warn and go on, as the environment variable is a default, not a request: a stale
            # value must not break commands that need no data from it (sklearn creates its
            # $SCIKIT_LEARN_DATA on demand; `mtneuro data download` creates this one), but
            # reading the packaged sample instead of real data without a word is what a
            # typo cost before. stacklevel 1: one place, so Python shows it once a process.
            warnings.warn(f"${ENV_VAR} is {env}, which is not a folder; looking in the user "
                          "cache and the packaged samples instead", UserWarning, stacklevel=1)
        roots.append((f"${ENV_VAR}", Path(env)))
    roots.append(("user cache", user_cache_dir()))
    roots.append(("packaged samples", PACKAGED_ROOT))
    # one place given twice (--root DIR with MTNEURO_DATA=DIR) is searched and named once
    unique: dict[Path, tuple[str, Path]] = {}
    for label, root in roots:
        unique.setdefault(root.resolve(), (label, root))
    return list(unique.values())


def find_data_file(relative: str, root: str | Path | None = None) -> Path:
    """First existing ``<root>/<relative>`` in lookup order, else a :class:`DataError`
    naming every place searched and how to get the file.

    Raises:
        DataError: ``root`` is given but is not an existing folder, or no root holds the file.
    """
    check_root(root)
    searched = []
    for label, base in candidate_roots(root):
        path = base / relative
        if path.is_file():
            if root is not None and label != "explicit path":
                # the lookup order goes on past an explicit root; say where the file came from
                # (stacklevel 1: one place, so a command that looks twice says it once)
                warnings.warn(f"{relative} is not in data root {root}; read {path}",
                              UserWarning, stacklevel=1)
            return path
        searched.append(f"{label} {base}")
    raise DataError(
        f"{relative} not found (searched: {'; '.join(searched)}); pass root=DIR "
        f"(--source-param root=DIR), set {ENV_VAR}, or run `mtneuro data download` for it"
    )
