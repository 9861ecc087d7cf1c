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
from mtneuro.registry import keyword_names, missing_names, unknown_name_message

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
    if module is None:  # the registry fills lazily: name every source, loaded or not
        raise ConfigError(unknown_name_message("source", name, list(SOURCE_NAMES)))
    importlib.import_module(module)
    return SOURCES.get(name)


def _param(named: str, key: str) -> str:
    """A source parameter as errors name it: the Python keyword (``open_source(name, key=..)``,
    ``source_params={key: ..}``) and the command line's ``--source-param``, since the same
    message reaches both."""
    return f"source parameter {named} (--source-param {key}=...)"


def check_param_names(name: str, factory: Callable[..., Any], params: Mapping[str, Any],
                      own: tuple[str, ...] = ()) -> None:
    """Every key of ``params`` is a keyword of source ``name``'s ``factory`` (one taking
    ``**kwargs`` takes any), other than the ``own`` ones its caller sets itself.

    Raises:
        ConfigError: an unknown key, naming the ones the source takes.
    """
    takes = keyword_names(factory)
    if takes is None:
        return
    named = [key for key in takes if key not in own]
    unknown = sorted(set(params) - set(named))
    if unknown:
        raise ConfigError(f"{_param(repr(unknown[0]), unknown[0])}: source {name!r} takes: "
                          f"{', '.join(named) or 'nothing'}")


def source_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against source ``name``'s parameters: a required one missing
    fails naming it, as does a value that is no number where the parameter takes an
    integer or a number; a number given for a path (``--source-param root=2024``: JSON
    reads it as an int) becomes that path; a value out of range fails as the source would
    (:meth:`VolumeSource.check_params`, which opens nothing); an unknown key is named with
    the ones the source takes.

    Raises:
        ConfigError: an unknown source or parameter, a required parameter missing, a number
            parameter that is not one, or a value out of range.
    """
    factory = source_factory(name)
    check_param_names(name, factory, params)
    parameters = inspect.signature(factory).parameters
    missing = missing_names(factory, params)
    if missing:
        raise ConfigError(f"{_param(repr(missing[0]), missing[0])}: source {name!r} needs it")
    out = dict(params)
    for key, value in params.items():
        annotation = str(parameters[key].annotation) if key in parameters else ""
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if "Path" in annotation and number:
            out[key] = str(value)
        wanted = _NUMBER_ANNOTATIONS.get(annotation)
        if wanted is not None and not (value is None and "None" in annotation) and not (
                isinstance(value, wanted[0]) and not isinstance(value, bool)):
            raise ConfigError(f"{_param(f'{key}={value!r}', key)}: source {name!r} expects "
                              f"{wanted[1]}")
    check_values = getattr(factory, "check_params", None)
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
    "source_factory",
    "source_params",
]
