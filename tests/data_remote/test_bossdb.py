"""The bossdb source, driven through the real intern client against the loopback server."""

from __future__ import annotations

import time

import numpy as np
import pytest
from array_source import ArraySource
from boss_server import BossTestServer

from mtneuro.data.sources import open_source
from mtneuro.data.sources.bossdb import aligned_blocks
from mtneuro.errors import ConfigError, DataError, SourceUnavailableError

SHAPE = (16, 512, 512)  # the volume fixture of conftest.py
STALL_TIMEOUT = 0.5  # client time-out where the server stalls (3 s): each stalled try costs this


def test_aligned_blocks_split_at_block_multiples():
    blocks = aligned_blocks(((3, 20), (0, 300), (250, 260)), (8, 256, 256))
    assert blocks == [
        ((3, 8), (0, 256), (250, 256)),
        ((3, 8), (0, 256), (256, 260)),
        ((3, 8), (256, 300), (250, 256)),
        ((3, 8), (256, 300), (256, 260)),
        ((8, 16), (0, 256), (250, 256)),
        ((8, 16), (0, 256), (256, 260)),
        ((8, 16), (256, 300), (250, 256)),
        ((8, 16), (256, 300), (256, 260)),
        ((16, 20), (0, 256), (250, 256)),
        ((16, 20), (0, 256), (256, 260)),
        ((16, 20), (256, 300), (250, 256)),
        ((16, 20), (256, 300), (256, 260)),
    ]


def test_shape_and_data_equal_the_served_volume(boss_server, fast_params, volume):
    source = open_source("bossdb", **fast_params)
    assert source.shape == SHAPE and source.channels == ("image", "roi_labels", "pixel_labels")
    for channel in source.channels:
        data = source.read_channel(channel, (0, SHAPE[0]), (0, SHAPE[1]), (0, SHAPE[2]))
        assert data.dtype == np.uint8
        np.testing.assert_array_equal(data, volume[channel])
    # 2 x 2 x 2 blocks of (8, 256, 256) per channel, one request each
    assert boss_server.count("cutout") == 3 * 8
    block = source.read_channel("pixel_labels", (5, 11), (100, 400), (250, 270))
    np.testing.assert_array_equal(block, volume["pixel_labels"][5:11, 100:400, 250:270])


def test_params_recreate_an_equivalent_source(boss_server, fast_params):
    source = open_source("bossdb", **fast_params)
    again = open_source("bossdb", **source.params())
    assert again.params() == source.params() and again.shape == source.shape
    assert "token" not in source.params()  # a token must never end up in a cache's metadata


@pytest.mark.parametrize("fault", ["error500", "stall", "truncate", "drop"])
def test_each_transient_fault_is_retried_and_recovered(boss_server, fast_params, volume, fault):
    source = open_source("bossdb", **{**fast_params, "timeout": STALL_TIMEOUT})
    boss_server.inject(fault, count=2)
    start = time.monotonic()
    data = source.read_channel("image", (2, 6), (10, 200), (30, 90))  # one block
    elapsed = time.monotonic() - start
    np.testing.assert_array_equal(data, volume["image"][2:6, 10:200, 30:90])
    outcomes = [r.outcome for r in boss_server.log if r.route == "cutout"]
    assert outcomes == [fault, fault, "ok"]
    # stalls cost one client time-out each, the others only the backoff waits (~0.01 s);
    # the margin is for a loaded CI machine, far below the 3 s the server would stall for
    assert elapsed < (2 * STALL_TIMEOUT + 1.5 if fault == "stall" else 1.5)


def test_fault_in_one_block_of_a_parallel_read_is_recovered(boss_server, fast_params, volume):
    source = open_source("bossdb", **fast_params)
    boss_server.inject("error500", count=3)
    data = source.read_channel("roi_labels", (0, 16), (0, 512), (0, 512))  # 8 blocks
    np.testing.assert_array_equal(data, volume["roi_labels"])
    assert boss_server.count("cutout") == 8 + 3


def test_permanent_404_fails_at_once_without_retry_storm(boss_server, fast_params):
    source = open_source("bossdb", **{**fast_params, "workers": 2})
    boss_server.inject("notfound", count=None)
    start = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=r"HTTP 404.*not retried.*--source phantom"):
        source.read_channel("image", (0, 16), (0, 512), (0, 512))  # 8 blocks
    assert time.monotonic() - start < 2.0
    # at most one request per worker that was already in flight, never a retry
    assert 1 <= boss_server.count("cutout") <= 2


def test_persistent_failure_is_bounded_in_attempts_and_time(boss_server, fast_params):
    source = open_source("bossdb", **{**fast_params, "max_attempts": 5, "backoff": 0.05})
    boss_server.inject("error500", count=None)
    start = time.monotonic()
    with pytest.raises(SourceUnavailableError) as info, pytest.warns(UserWarning) as said:
        source.read_channel("image", (0, 4), (0, 64), (0, 64))
    elapsed = time.monotonic() - start
    # the wait does not look like a hang: one warning, at the first retry
    assert [str(w.message) for w in said] == [(
        f"bossdb at {source.url}: image cutout z 0:4 y 0:64 x 0:64 failed (HTTP 500 Internal "
        f"Server Error); retrying, up to 5 tries per request and "
        f"{fast_params['max_retry_seconds']:g} s of retrying for the whole read before giving up")]
    message = str(info.value)
    assert "\n" not in message and "failed 5 time(s)" in message and "HTTP 500" in message
    assert "mtneuro data fetch" in message and "--source phantom" in message
    assert boss_server.count("cutout") == 5
    # waits are 0.025..0.05, 0.05..0.1, 0.1..0.2, 0.2..0.4 s: at most 0.75 s plus request time
    assert 0.375 <= elapsed < 3.0


def test_time_budget_stops_retries_before_the_attempt_budget(boss_server, fast_params):
    source = open_source("bossdb", **{**fast_params, "max_attempts": 50, "max_retry_seconds": 1.2,
                                      "timeout": STALL_TIMEOUT})
    boss_server.inject("stall", count=None)
    start = time.monotonic()
    with pytest.raises(SourceUnavailableError, match="unreachable"):
        source.read_channel("image", (0, 1), (0, 8), (0, 8))
    elapsed = time.monotonic() - start
    # each stalled try costs STALL_TIMEOUT; the budget allows starting tries until 1.2 s
    assert elapsed < 1.2 + STALL_TIMEOUT + 1.0
    assert 2 <= boss_server.count("cutout") <= 4


def test_unreachable_host_fails_with_offline_hint(boss_server, fast_params):
    port = boss_server.host.split(":")[1]
    boss_server.stop()  # nothing listens on the port any more: connection refused
    start = time.monotonic()
    with pytest.raises(
        SourceUnavailableError, match=r"reading channel prasad/prasad2020/image.*--source phantom"
    ):
        open_source(
            "bossdb", **{**fast_params, "host": f"127.0.0.1:{port}", "max_retry_seconds": 1.0}
        )
    assert time.monotonic() - start < 3.0


def test_name_resolution_failure_is_named_in_whole_words():
    """requests' message for an unknown host ends with the cause after 160 characters of
    pool details; the one-line reason keeps the cause and cuts only between words."""
    import requests

    from mtneuro.data.sources.bossdb_errors import describe_error

    message = ("HTTPSConnectionPool(host='api.bossdb.io', port=443): Max retries exceeded with url: "
               "/v1/collection/prasad/experiment/prasad2020/channel/image/ (Caused by "
               "NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f3a2c1d>: "
               "Failed to resolve 'api.bossdb.io' ([Errno -3] Temporary failure in name "
               "resolution)\"))")
    reason = describe_error(requests.ConnectionError(message))
    assert reason.startswith("ConnectionError: NameResolutionError(")
    assert len(reason) <= len("ConnectionError: ") + 160
    words = reason.removeprefix("ConnectionError: ").removesuffix(" ...").split(" ")
    assert all(word in message.split(" ") for word in words)  # no word cut in two
    assert reason.endswith(" ...")


def test_metadata_500_is_retried(boss_server, fast_params):
    boss_server.inject("error500", count=1, route="coord")
    source = open_source("bossdb", **fast_params)
    assert source.shape == SHAPE
    # two experiments (prasad2020, prasad_analysis), two frames; the first try failed once
    assert [r.outcome for r in boss_server.log if r.route == "coord"] == ["error500", "ok", "ok"]
    assert boss_server.count("channel") == 3 and boss_server.count("experiment") == 2


def test_wrong_token_is_permanent(boss_server, fast_params):
    with pytest.raises(SourceUnavailableError, match="HTTP 401"):
        open_source("bossdb", **{**fast_params, "token": "wrong"})
    assert boss_server.count("channel") == 1


@pytest.mark.extra("bossdb")
def test_annotation_ids_above_255_are_an_error_not_wrapped(monkeypatch):
    volume = {"roi_labels": np.zeros((2, 8, 8), np.uint8)}
    source = ArraySource(volume)
    for var in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    with BossTestServer(source) as server:
        original = server._answer

        def big_ids(route, match):  # the server holds uint64 ids; make one of them 300
            status, ctype, body = original(route, match)
            if route == "cutout":
                import blosc

                data = np.frombuffer(blosc.decompress(body), np.uint64).copy()
                data[0] = 300
                body = blosc.compress(data.tobytes(), typesize=8)
            return status, ctype, body

        server._answer = big_ids
        bossdb = open_source(
            "bossdb", host=server.host, protocol="http", channels="roi_labels", timeout=1
        )
        with pytest.raises(DataError, match="id 300"):
            bossdb.read_channel("roi_labels", (0, 2), (0, 8), (0, 8))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"protocol": "ftp"},
        {"workers": 0},
        {"block_shape": "8,256"},
        {"channels": "image,labels"},
        {"timeout": 0},
        {"workers": "many"},
        {"max_attempts": 0},
        {"backoff": -1},
    ],
)
def test_bad_params_are_config_errors_before_any_request(kwargs):
    with pytest.raises(ConfigError):
        open_source("bossdb", host="127.0.0.1:9", **kwargs)


@pytest.mark.extra("bossdb")
def test_server_serves_the_phantom_to_the_real_client(monkeypatch):
    pytest.importorskip("mtneuro.data.sources.phantom")
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    phantom = open_source("phantom", seed=0)
    with BossTestServer(phantom) as server:
        bossdb = open_source("bossdb", host=server.host, protocol="http", timeout=20)
        assert bossdb.shape == phantom.shape  # (720, 1420, 5805), from the coordinate frame
        box = ((300, 302), (900, 964), (4600, 4664))  # inside the cortex box of MTNeuro
        for channel in ("image", "roi_labels", "pixel_labels"):
            np.testing.assert_array_equal(
                bossdb.read_channel(channel, *box), phantom.read_channel(channel, *box)
            )
