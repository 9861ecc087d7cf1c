"""Volume sources: ``phantom`` (default, offline), ``slice`` (one real slice),
``bossdb`` (the real volume through ``intern``) and ``cache`` (a local chunked
Zarr store in front of any of them)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from mtneuro.data.sources.base import CHANNELS, SOURCES, Block, VolumeSource
from mtneuro.errors import ConfigError

#: source name -> module that registers it (imported on first use).
_SOURCE_MODULES = {
    "phantom": "mtneuro.data.sources.phantom",
    "slice": "mtneuro.data.sources.slice",
    "bossdb": "mtneuro.data.sources.bossdb",
    "cache": "mtneuro.data.sources.cache",
}
SOURCE_NAMES = tuple(_SOURCE_MODULES)


def source_factory(name: str) -> Callable[..., VolumeSource]:
    """The registered factory (usually the class) of source ``name``; unknown names fail
    listing the valid ones."""
    module = _SOURCE_MODULES.get(name)
    if module is not None:
        importlib.import_module(module)
    return SOURCES.get(name)


def source_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against source ``name``'s parameters: a required one missing
    fails naming it, as does a value that is no number where the parameter takes an
    integer or a number; a number given for a path (``--source-param root=2024``: JSON
    reads it as an int) becomes that path; a value out of range fails as the source would
    (:meth:`VolumeSource.check_params`, which opens nothing). Unknown keys are left to the
    factory's check.

    Raises:
        ConfigError: a required parameter is missing, a number parameter is not one, or a
            value is out of range.
    """
    parameters = inspect.signature(source_factory(name)).parameters
    missing = [p.name for p in parameters.values()
               if p.default is inspect.Parameter.empty and p.name != "self"
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in params]
    if missing:
        raise ConfigError(f"--source-param {missing[0]}: source {name!r} needs it "
                          f"(--source-param {missing[0]}=...)")
    out = dict(params)
    for key, value in params.items():
        annotation = str(parameters[key].annotation) if key in parameters else ""
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if "Path" in annotation and number:
            out[key] = str(value)
        wanted = _NUMBER_ANNOTATIONS.get(annotation)
        if wanted is not None and not (value is None and "None" in annotation) and not (
                isinstance(value, wanted[0]) and not isinstance(value, bool)):
            raise ConfigError(f"--source-param {key}={value!r}: source {name!r} expects "
                              f"{wanted[1]}")
    check_values = getattr(source_factory(name), "check_params", None)
    if check_values is not None:
        check_values(out)  # ranges, opening nothing
    return out


#: Parameter annotations whose values are checked before a source opens (``seed=abc``).
_NUMBER_ANNOTATIONS = {
    "int": (int, "an integer"), "int | None": (int, "an integer"),
    "float": ((int, float), "a number"), "float | None": ((int, float), "a number"),
}


def open_source(name: str, **kwargs: Any) -> VolumeSource:
    """Create a volume source by name, e.g. ``open_source("phantom", seed=0)``."""
    return SOURCES.create(name, **source_params(name, kwargs))


__all__ = [
    "CHANNELS",
    "SOURCES",
    "SOURCE_NAMES",
    "Block",
    "VolumeSource",
    "open_source",
    "source_params",
    "source_factory",
]
