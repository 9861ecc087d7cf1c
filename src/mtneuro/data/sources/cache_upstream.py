"""Whether an upstream source names the data a cache holds.

A cache records the source and parameters that filled it. An upstream given later
(to fetch missing chunks, or named with other parameters) must name the same data;
only transport parameters (workers, timeouts: a source's ``transport_params``) may
differ. A mismatch is refused before anything is read, so a request the cache already
holds is never answered with data of another source.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.sources.cache_store import ChunkStore
from mtneuro.errors import ConfigError


def open_upstream(name: str, params: dict[str, Any]) -> VolumeSource:
    from mtneuro.data.sources import open_source

    return open_source(name, **params)


def check_given_params(recorded: Mapping[str, Any], given: Mapping[str, Any], root: Path) -> None:
    """Refuse named-upstream parameters that differ from the ``recorded`` ones in anything
    but transport (``seed=3`` for a cache filled with seed 0)."""
    from mtneuro.data.sources import source_factory

    transport = set(getattr(source_factory(recorded["source"]), "transport_params", ()))
    now = _jsonify(given)
    if any(k in recorded["params"] and recorded["params"][k] != v
           for k, v in now.items() if k not in transport):
        raise ConfigError(
            f"upstream: {recorded['source']}({_brief(now)}) does not match the data in cache "
            f"{root}, filled from {recorded['source']}({_brief(recorded['params'])}); use "
            "another --cache directory"
        )


def check_upstream(store: ChunkStore, source: VolumeSource, root: Path) -> None:
    """Refuse an upstream source object whose data differs from what ``store`` holds."""
    recorded, now = store.upstream, source.describe()
    transport = set(getattr(source, "transport_params", ()))
    same = (
        now["source"] == recorded["source"]
        and list(source.shape) == list(store.shape)
        and set(store.channels) <= set(source.channels)
        and all(
            _jsonify(now["params"]).get(k) == v
            for k, v in recorded["params"].items()
            if k not in transport
        )
    )
    if not same:
        raise ConfigError(
            f"upstream: {now['source']}({_brief(now['params'])}) does not match the data "
            f"in cache {root}, filled from {recorded['source']}({_brief(recorded['params'])})"
        )


def _jsonify(params: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded params went through JSON: compare tuples as lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def _brief(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
