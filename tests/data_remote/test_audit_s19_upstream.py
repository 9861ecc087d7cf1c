"""Audit (s19) of the upstream check of a cache (:mod:`mtneuro.data.sources.cache_upstream`):
where the data are served may change (with a warning naming both addresses), which data
(each cached channel's URI and server data type) may not; the offline hint names the
address a cache was filled from."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mtneuro.data.sources.cache_upstream import check_upstream, offline_hint
from mtneuro.errors import ConfigError

ROOT = Path("/caches/c.zarr")
CACHED = ("image", "roi_labels")
URIS = {"image": "bossdb://a/b/image", "roi_labels": "bossdb://a/b/roi",
        "pixel_labels": "bossdb://a/b/pix"}
TYPES = {"image": "uint8", "roi_labels": "uint64", "pixel_labels": "uint64"}
PARAMS = {"host": "old.example", "protocol": "https", "workers": 4, "seed": 0}


class _Boss:
    """A source as check_upstream sees it: its description, shape, channels, params kinds."""

    transport_params = ("workers",)
    location_params = ("host", "protocol")
    shape = (16, 64, 64)
    channels = ("image", "roi_labels", "pixel_labels")

    def __init__(self, uris: dict[str, str] = URIS, datatypes: dict[str, str] = TYPES,
                 **params: Any) -> None:
        self.info = {"source": "bossdb", "params": {**PARAMS, **params}, "uris": dict(uris),
                     "datatypes": dict(datatypes)}

    def describe(self) -> dict[str, Any]:
        return self.info


def _store(**recorded: Any) -> SimpleNamespace:
    upstream = {**_Boss().describe(), **recorded}
    return SimpleNamespace(upstream=upstream, shape=(16, 64, 64), channels=CACHED)


def test_another_address_is_accepted_with_one_warning_naming_both() -> None:
    with pytest.warns(UserWarning) as caught:
        check_upstream(_store(), _Boss(host="mirror.example", protocol="http", workers=1),
                       ROOT)
    assert [str(w.message) for w in caught] == [(
        f"cache {ROOT}: filled from bossdb at host=old.example protocol=https, fetching from "
        "host=mirror.example protocol=http now (the same data by its description: it must "
        "serve what the first address served)")]


def test_the_same_address_and_other_transport_say_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_upstream(_store(), _Boss(workers=16), ROOT)


@pytest.mark.parametrize("source", [
    _Boss(uris={**URIS, "roi_labels": "bossdb://a/b/other"}),  # the second cached channel
    _Boss(uris={**URIS, "image": "bossdb://x/y/image"}),
    _Boss(datatypes={**TYPES, "roi_labels": "uint32"}),
    _Boss(seed=1),
])
def test_other_data_of_a_cached_channel_is_refused(source: _Boss) -> None:
    with pytest.raises(ConfigError, match=f"does not match the data in cache {ROOT}"):
        check_upstream(_store(), source, ROOT)


def test_facts_of_channels_not_cached_or_not_recorded_are_not_compared() -> None:
    # pixel_labels is not in the cache; a cache made before data types were recorded has none
    check_upstream(_store(), _Boss(uris={**URIS, "pixel_labels": "bossdb://z/z/z"}), ROOT)
    old = _store()
    del old.upstream["datatypes"]
    check_upstream(old, _Boss(datatypes={**TYPES, "image": "uint16"}), ROOT)


def test_the_offline_hint_names_the_address_and_how_to_use_another() -> None:
    hint = offline_hint(ROOT, {"source": "bossdb", "params": PARAMS})
    assert hint is not None
    assert hint.startswith(f"cache {ROOT} was filled from bossdb at host=old.example "
                           "protocol=https: chunks it does not hold need that server")
    assert (f"(mtneuro data verify --cache {ROOT} --source-param host=... --source-param "
            "protocol=...)") in hint
    # a source served from nowhere (generated here): nothing to reach, no hint
    assert offline_hint(ROOT, {"source": "phantom", "params": {"seed": 0}}) is None
