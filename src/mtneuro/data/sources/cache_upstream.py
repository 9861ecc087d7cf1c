"""Whether an upstream source names the data a cache holds.

A cache records the source and parameters that filled it. An upstream given later
(to fetch missing chunks, or named with other parameters) must name the same data;
only transport parameters (workers, timeouts: a source's ``transport_params``) and
location parameters (where the data is served: bossdb's ``host`` and ``protocol``, a
source's ``location_params``) may differ, a new location with a warning naming both. What
the data is (the source, its other parameters, shape, channels and, where recorded, the
channels' URIs and data types) must match. A mismatch is refused before anything is read,
so a request the cache already holds is never answered with data of another source.
"""

from __future__ import annotations

import warnings
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
    but transport or location (``seed=3`` for a cache filled with seed 0)."""
    from mtneuro.data.sources import source_factory

    transport = _free_params(source_factory(recorded["source"]))
    now = _jsonify(given)
    if any(k in recorded["params"] and recorded["params"][k] != v
           for k, v in now.items() if k not in transport):
        raise ConfigError(
            f"upstream: {recorded['source']}({_brief(now)}) does not match the data in cache "
            f"{root}, filled from {recorded['source']}({_brief(recorded['params'])}); use "
            "another --cache directory"
        )


def check_upstream(store: ChunkStore, source: VolumeSource, root: Path) -> None:
    """Refuse an upstream source object whose data differs from what ``store`` holds; warn
    in one line, naming both, when it serves that data from another location."""
    recorded, now = store.upstream, source.describe()
    location = tuple(getattr(source, "location_params", ()))
    transport = _free_params(source)
    same = (
        now["source"] == recorded["source"]
        and list(source.shape) == list(store.shape)
        and set(store.channels) <= set(source.channels)
        and all(
            _jsonify(now["params"]).get(k) == v
            for k, v in recorded["params"].items()
            if k not in transport
        )
        and _same_channel_facts(recorded, now, store.channels)
    )
    if not same:
        raise ConfigError(
            f"upstream: {now['source']}({_brief(now['params'])}) does not match the data "
            f"in cache {root}, filled from {recorded['source']}({_brief(recorded['params'])})"
        )
    was, is_now = _where(recorded["params"], location), _where(now["params"], location)
    if was != is_now:
        warnings.warn(f"cache {root}: filled from {recorded['source']} at {was}, fetching from "
                      f"{is_now} now (the same data by its description: it must serve what "
                      "the first address served)", stacklevel=2)


def _free_params(source: Any) -> set[str]:
    """The parameters of a source (class or object) that may differ from the recorded ones:
    transport (how it is fetched) and location (where it is served)."""
    return {*getattr(source, "transport_params", ()), *getattr(source, "location_params", ())}


def _same_channel_facts(recorded: Mapping[str, Any], now: Mapping[str, Any],
                        channels: tuple[str, ...]) -> bool:
    """The per-channel facts a source records (bossdb: URIs, server data types) agree for
    the cached channels; a cache made before a fact was recorded is not held to it."""
    for key in ("uris", "datatypes"):
        was = recorded.get(key)
        if isinstance(was, dict) and any(
                c in was and (now.get(key) or {}).get(c) != was[c] for c in channels):
            return False
    return True


def offline_hint(root: Path, recorded: Mapping[str, Any]) -> str | None:
    """How to go on when the upstream of cache ``root`` cannot be reached: naming where the
    cache was filled from and how to repair it from another address; None for a source
    without location parameters (nothing to reach)."""
    from mtneuro.data.sources import source_factory

    try:
        location = tuple(getattr(source_factory(recorded["source"]), "location_params", ()))
    except ConfigError:  # a source registered only where the cache was made (tests)
        return None
    if not location:
        return None
    others = " ".join(f"--source-param {k}=..." for k in location)
    return (f"cache {root} was filled from {recorded['source']} at "
            f"{_where(recorded['params'], location)}: chunks it does not hold need that "
            f"server, or the same data at another address (mtneuro data verify --cache "
            f"{root} {others}); to work offline use --source phantom, or read only chunks "
            "the cache holds")


def _where(params: Mapping[str, Any], location: tuple[str, ...]) -> str:
    return " ".join(f"{k}={params.get(k)}" for k in location)


def _jsonify(params: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded params went through JSON: compare tuples as lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def _brief(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
