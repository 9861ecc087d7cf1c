"""Optional dependencies: import one, or fail with the pip command that installs it.

The core install (``pip install mtneuro``) covers the data, neural, pre-training,
region and semantic commands; heavier features live in extras::

    bossdb   intern (BossDB downloads)
    seg      segmentation-models-pytorch, MONAI (task 2's smp and MONAI networks)
    cluster  submitit (bench --executor submitit-local/slurm)
    all      all of the above

A base module: it imports no layer, so every layer can use it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from mtneuro.errors import MtneuroError


@dataclass(frozen=True)
class Extra:
    """One extra of ``pyproject.toml``: what it unlocks and the modules it installs."""

    purpose: str
    modules: tuple[str, ...]


EXTRAS = {
    "bossdb": Extra("downloading MTNeuro volumes from BossDB", ("intern", "blosc")),
    "seg": Extra("the task-2 segmentation networks", ("segmentation_models_pytorch", "monai")),
    "cluster": Extra("running bench cells through submitit", ("submitit",)),
}


class MissingExtraError(MtneuroError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def _check_extra(extra: str) -> Extra:
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; expected one of {sorted(EXTRAS)}")
    return EXTRAS[extra]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (dotted names allowed) or say which extra installs it.

    Args:
        module: the module to import, e.g. ``"monai.inferers"``.
        extra: the mtneuro extra that installs it, a key of :data:`EXTRAS`.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module or one of its own dependencies is not
            installed. A missing ``mtneuro`` module is a bug and propagates as is.

    >>> require("json", "seg").__name__
    'json'
    """
    purpose = _check_extra(extra).purpose
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or module
        package = missing.split(".")[0]
        if package == "mtneuro":
            raise
        if missing != package and importlib.util.find_spec(package) is not None:
            raise MissingExtraError(
                f"{missing} is not in the installed {package} (needed for {purpose}; an older "
                f'or partial install?): pip install --upgrade "mtneuro[{extra}]"'
            ) from err
        raise MissingExtraError(
            f'{package} is not installed (needed for {purpose}): pip install "mtneuro[{extra}]"'
        ) from err


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found (found ones are not imported)."""
    return [m for m in _check_extra(extra).modules if importlib.util.find_spec(m) is None]


def installed_extras() -> list[str]:
    """The extras whose modules are all found, in :data:`EXTRAS` order."""
    return [name for name in EXTRAS if not missing_modules(name)]
