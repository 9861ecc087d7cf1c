"""Volume sources: ``phantom`` (default, offline), ``slice`` (one real slice),
``bossdb`` (the real volume through ``intern``) and ``cache`` (a local chunked
Zarr store in front of any of them)."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from mtneuro.data.sources.base import CHANNELS, SOURCES, Block, VolumeSource

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


def open_source(name: str, **kwargs: Any) -> VolumeSource:
    """Create a volume source by name, e.g. ``open_source("phantom", seed=0)``."""
    source_factory(name)
    return SOURCES.create(name, **kwargs)


__all__ = [
    "CHANNELS",
    "SOURCES",
    "SOURCE_NAMES",
    "Block",
    "VolumeSource",
    "open_source",
    "source_factory",
]
