"""``mtneuro data fetch`` refuses an empty, reversed or negative range before it asks any
source: a remote one (bossdb) was asked, and retried for seconds, before failing."""

from __future__ import annotations

import pytest
from cli_probe import assert_one_line_error, invoke, tree

from mtneuro.cli.data_cache import parse_range
from mtneuro.errors import ConfigError


@pytest.mark.parametrize("text, needle", [("470:110", "range '470:110' is empty"),
                                          ("5:5", "range '5:5' is empty"),
                                          ("-5:10", "START >= 0, got '-5:10'")])
def test_parse_range_refuses_empty_reversed_and_negative_ranges(text, needle):
    with pytest.raises(ConfigError, match=needle) as caught:
        parse_range("z", text)
    assert str(caught.value).startswith("--z: ")


@pytest.mark.parametrize("source", ["bossdb", "phantom"])
@pytest.mark.parametrize("z", ["470:110", "-5:10"])
def test_fetch_refuses_a_bad_range_at_once_for_every_source(tmp_path, monkeypatch, source, z):
    from mtneuro.data.sources import cache_fetch

    def fill_cache(*args, **kwargs):
        raise AssertionError("the source was asked for a range already known to be bad")

    monkeypatch.setattr(cache_fetch, "fill_cache", fill_cache)
    before = tree(tmp_path)
    outcome = invoke(["data", "fetch", "--source", source, "--cache", "c.zarr", "--z", z,
                      "--y", "0:10", "--x", "0:10", "--quiet"], tmp_path)
    assert_one_line_error(outcome, "--z: ", repr(z))
    assert tree(tmp_path) == before  # no cache folder made
