"""Audit of the bossdb source: cutout coordinates in a frame that does not start at 0, the
channel paths and ids the client asks for, error classification and the offline message.

The loopback server of conftest.py serves a frame starting at 0 with y == x, where swapped or
dropped offsets and axes give the same answer; here a small non-cubic volume is served in a
frame starting at (3, 5, 7) so that each such mistake reads other voxels.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Mapping

import numpy as np
import pytest
from array_source import ArraySource, random_volume
from boss_server import _CUTOUT, BossTestServer

from mtneuro.data.sources import bossdb as bossdb_module
from mtneuro.data.sources import open_source
from mtneuro.data.sources.bossdb_errors import (
    OFFLINE_HINT,
    CorruptBodyError,
    classify_error,
    describe_error,
    shorten_words,
)
from mtneuro.errors import ConfigError, DataError, SourceUnavailableError

pytestmark = pytest.mark.extra("bossdb")

Zyx = tuple[int, int, int]
SMALL = (6, 20, 36)  # z, y, x all different: a swapped pair of axes changes the shape
ORIGIN = (3, 5, 7)  # frame start (z, y, x), all different and non-zero
EXPERIMENTS = ("prasad2020", "prasad_analysis")  # image / the two label channels
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch) -> None:
    for var in PROXY_VARS:  # loopback traffic must not go through a proxy
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def small() -> dict[str, np.ndarray]:
    return random_volume(SMALL, seed=3)


@contextlib.contextmanager
def framed_server(volume: Mapping[str, np.ndarray], origins: Mapping[str, Zyx],
                  stops: Mapping[str, Zyx] | None = None, **kwargs) -> Iterator[BossTestServer]:
    """The test server with the frame of each experiment starting at ``origins[exp]`` (and
    ending at ``stops[exp]`` if given): cutouts are asked in frame coordinates."""
    server = BossTestServer(ArraySource(volume), **kwargs)
    frame, answer = server._frame, server._answer

    def shifted_frame(exp: str) -> dict:
        body = frame(exp)
        origin = origins[exp]
        stop = (stops or {}).get(exp) or tuple(o + s for o, s in zip(origin, SMALL))
        for axis, start, end in zip("zyx", origin, stop):
            body[f"{axis}_start"], body[f"{axis}_stop"] = start, end
        return body

    def shifted_answer(route: str, match: re.Match[str]) -> tuple[int, str, bytes]:
        if route != "cutout":
            return answer(route, match)
        coll, exp, chan, res, *xyz = match.groups()
        oz, oy, ox = origins[exp]
        local = [int(v) - o for v, o in zip(xyz, (ox, ox, oy, oy, oz, oz))]
        if min(local) < 0:  # before the frame: the Boss answers 400
            return 400, "application/json", b'{"detail": "outside the frame"}'
        x0, x1, y0, y1, z0, z1 = local
        path = f"/v1/cutout/{coll}/{exp}/{chan}/{res}/{x0}:{x1}/{y0}:{y1}/{z0}:{z1}/"
        return answer(route, _CUTOUT.match(path))  # type: ignore[arg-type]

    server._frame, server._answer = shifted_frame, shifted_answer  # type: ignore[method-assign]
    with server:
        yield server


def params(server: BossTestServer, **kwargs) -> dict:
    return {"host": server.host, "protocol": "http", "timeout": 10.0, "backoff": 0.01,
            "max_attempts": 4, "max_retry_seconds": 10.0, "block_shape": (4, 8, 16), "seed": 0,
            **kwargs}


def test_a_frame_not_starting_at_zero_is_read_at_its_own_voxels(small):
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN)) as server:
        source = open_source("bossdb", **params(server))
        assert source.shape == SMALL and source.origin == ORIGIN
        for channel in ("image", "roi_labels", "pixel_labels"):
            data = source.read_channel(channel, (1, 6), (3, 19), (10, 35))  # 2 x 3 x 3 blocks
            assert data.dtype == np.uint8
            np.testing.assert_array_equal(data, small[channel][1:6, 3:19, 10:35])
        server.clear()
        source.read_channel("roi_labels", (1, 3), (2, 6), (4, 12))  # one block
        # intern's order is x, y, z with exclusive ends; each plus its own origin; resolution 0
        assert [r.path for r in server.log] == [
            "/v1/cutout/prasad/prasad_analysis/roi_labels/0/11:19/7:11/4:6/"]


def test_channels_are_asked_for_at_their_published_bossdb_paths(boss_server, fast_params):
    source = open_source("bossdb", **fast_params)
    uris = {"image": "bossdb://prasad/prasad2020/image",
            "roi_labels": "bossdb://prasad/prasad_analysis/roi_labels",
            "pixel_labels": "bossdb://prasad/prasad_analysis/pixel_labels"}
    assert source.describe()["uris"] == uris
    for channel, uri in uris.items():
        boss_server.clear()
        source.read_channel(channel, (0, 1), (0, 2), (0, 2))
        assert [r.path for r in boss_server.log] == [
            f"/v1/cutout/{uri.removeprefix('bossdb://')}/0/0:2/0:2/0:1/"]


def test_the_shape_is_what_all_channels_cover(small):
    # the label frame ends 4 voxels earlier in y: labels past it do not exist
    stops = {"prasad_analysis": (ORIGIN[0] + 6, ORIGIN[1] + 16, ORIGIN[2] + 36)}
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN), stops) as server:
        assert open_source("bossdb", **params(server)).shape == (6, 16, 36)
        assert open_source("bossdb", **params(server, channels="image")).shape == SMALL


def test_channels_in_frames_of_different_origins_are_refused(small):
    origins = {"prasad2020": ORIGIN, "prasad_analysis": (3, 5, 8)}
    refused = pytest.raises(DataError, match=r"different frame origins \[\(3, 5, 7\), \(3, 5, 8\)")
    with framed_server(small, origins) as server, refused:
        open_source("bossdb", **params(server))


@pytest.mark.parametrize("top", [255, 256])
def test_annotation_ids_up_to_255_are_served_and_256_is_an_error(top):
    volume = {"roi_labels": np.zeros((2, 8, 8), np.uint8)}
    with framed_server(volume, {"prasad_analysis": (0, 0, 0)}) as server:
        answer = server._answer

        def with_top_id(route: str, match: re.Match[str]) -> tuple[int, str, bytes]:
            status, ctype, body = answer(route, match)
            if route == "cutout":  # the server holds uint64 ids: the last voxel gets ``top``
                import blosc

                data = np.frombuffer(blosc.decompress(body), np.uint64).copy()
                data[-1] = top
                body = blosc.compress(data.tobytes(), typesize=8)
            return status, ctype, body

        server._answer = with_top_id  # type: ignore[method-assign]
        source = open_source("bossdb", **params(server, channels="roi_labels"))
        if top == 256:
            with pytest.raises(DataError, match="holds id 256, expected ids 0..255"):
                source.read_channel("roi_labels", (0, 2), (0, 8), (0, 8))
            return
        data = source.read_channel("roi_labels", (0, 2), (0, 8), (0, 8))
        assert data.dtype == np.uint8 and data[1, 7, 7] == 255 and int(data.sum()) == 255


@pytest.mark.parametrize("env, token", [("s3cret", None), ("wrong", "s3cret")])
def test_the_token_comes_from_the_argument_else_the_environment(small, monkeypatch, env, token):
    monkeypatch.setenv("MTNEURO_BOSS_TOKEN", env)
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN), token="s3cret") as server:
        source = open_source("bossdb", **params(server, token=token, channels="image"))
        np.testing.assert_array_equal(source.read_channel("image", (0, 1), (0, 2), (0, 2)),
                                      small["image"][:1, :2, :2])
        assert "token" not in source.params() and server.count("channel", "401") == 0


@pytest.mark.parametrize("body", ["not blosc", "too short"])
def test_a_body_that_does_not_decode_to_the_block_is_retried(small, body):
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN)) as server:
        answer, cutouts = server._answer, []

        def once_bad(route: str, match: re.Match[str]) -> tuple[int, str, bytes]:
            status, ctype, data = answer(route, match)
            cutouts.append(route == "cutout")
            if route == "cutout" and cutouts.count(True) == 1:  # only the first answer is bad
                import blosc

                data = (b"garbage, not a blosc frame" if body == "not blosc"
                        else blosc.compress(blosc.decompress(data)[:-1], typesize=1))
            return status, ctype, data

        server._answer = once_bad  # type: ignore[method-assign]
        source = open_source("bossdb", **params(server, channels="image"))
        np.testing.assert_array_equal(source.read_channel("image", (0, 2), (0, 4), (0, 4)),
                                      small["image"][:2, :4, :4])
        assert server.count("cutout") == 2


def test_metadata_requests_have_the_client_time_out(small):
    # the server would stall 10 s; the 0.5 s time-out gives up and the retry gets the answer
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN), stall_seconds=10.0) as server:
        server.inject("stall", count=1, route="channel")
        start = time.monotonic()
        open_source("bossdb", **params(server, channels="image", timeout=0.5))
        # without a time-out the stall is waited out (10 s) and no second request is sent
        assert [r.outcome for r in server.log if r.route == "channel"][:2] == ["stall", "ok"]
        assert time.monotonic() - start < 8.0


def test_at_most_workers_cutouts_are_in_flight(small):
    in_flight, most = [0], [0]
    turn = threading.Condition()
    with framed_server(small, dict.fromkeys(EXPERIMENTS, ORIGIN)) as server:
        answer = server._answer

        def counted(route: str, match: re.Match[str]) -> tuple[int, str, bytes]:
            if route != "cutout":
                return answer(route, match)
            with turn:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
                turn.notify_all()
                # held until a third request arrives (none should) or briefly
                turn.wait_for(lambda: in_flight[0] > 2, timeout=0.1)
                in_flight[0] -= 1
            return answer(route, match)

        server._answer = counted  # type: ignore[method-assign]
        source = open_source("bossdb", **params(server, channels="image", workers=2))
        source.read_channel("image", (0, 6), (0, 16), (0, 32))  # 2 x 2 x 2 blocks
    assert 1 <= most[0] <= 2 and server.count("cutout") == 8


def test_the_blocks_of_one_read_share_one_deadline(boss_server, fast_params, monkeypatch):
    source = open_source("bossdb", **{**fast_params, "max_retry_seconds": 7.0})
    deadlines: list[float] = []
    real = bossdb_module.retry_call

    def recorded(fn, **kwargs):
        deadlines.append(kwargs["deadline"])
        return real(fn, **kwargs)

    monkeypatch.setattr(bossdb_module, "retry_call", recorded)
    before = time.monotonic()
    source.read_channel("image", (0, 16), (0, 512), (0, 256))  # 4 blocks
    after = time.monotonic()
    assert len(deadlines) == 4 and len(set(deadlines)) == 1
    assert before + 7.0 <= deadlines[0] <= after + 7.0


def test_a_permanent_failure_ends_a_sibling_blocks_backoff_wait(boss_server, fast_params):
    source = open_source("bossdb", **{**fast_params, "workers": 2, "backoff": 5.0})
    boss_server.inject("error500", count=1)  # the first block to ask waits 2.5..5 s to retry
    boss_server.inject("notfound", count=None)  # the other fails for good meanwhile
    start = time.monotonic()
    with pytest.raises(SourceUnavailableError, match="HTTP 404"):
        source.read_channel("image", (0, 16), (0, 8), (0, 8))  # 2 blocks
    assert time.monotonic() - start < 2.4 and boss_server.count("cutout") == 2  # backoff >= 2.5 s


@pytest.mark.parametrize("fault", ["error500", "notfound"])
def test_failures_end_with_the_whole_offline_hint(boss_server, fast_params, fault):
    assert re.search(r"--source phantom.* \(mtneuro data fetch --source bossdb --cache \S+ ",
                     OFFLINE_HINT)
    source = open_source("bossdb", **{**fast_params, "max_attempts": 2})
    boss_server.inject(fault, count=None)
    with pytest.raises(SourceUnavailableError) as info:
        source.read_channel("image", (0, 1), (0, 8), (0, 8))
    message = str(info.value)
    assert message.endswith("; " + OFFLINE_HINT) and "\n" not in message
    assert ("failed 2 time(s)" in message) == (fault == "error500")


def http_error(status: int, reason: str | None = "Reason") -> Exception:
    import requests

    response = requests.Response()
    response.status_code, response.reason = status, reason
    return requests.HTTPError(f"{status} {reason}", response=response)


@pytest.mark.parametrize("status, verdict", [
    (408, "transient"), (429, "transient"), (500, "transient"), (502, "transient"),
    (503, "transient"), (504, "transient"),
    (400, "permanent"), (401, "permanent"), (403, "permanent"), (404, "permanent"),
    (410, "permanent"), (499, "permanent"),
])
def test_http_statuses_are_classified(status, verdict):
    assert classify_error(http_error(status)) == verdict


def test_other_errors_are_classified():
    import requests

    transient = [requests.HTTPError("no response"), requests.ConnectionError("refused"),
                 requests.Timeout("read"), requests.exceptions.ChunkedEncodingError("cut"),
                 CorruptBodyError("short body"), ConnectionResetError(), TimeoutError()]
    assert [classify_error(e) for e in transient] == ["transient"] * len(transient)
    # not a remote failure: re-raised at once by the retry loop, not hidden behind retries
    assert [classify_error(e) for e in (ValueError("x"), KeyError("k"), RuntimeError())] == [
        None, None, None]
    # a malformed URL or header is refused before anything is sent: retrying cannot help
    malformed = [requests.exceptions.InvalidURL("host"), requests.exceptions.MissingSchema("x"),
                 requests.exceptions.InvalidSchema("x"), requests.exceptions.InvalidHeader("x"),
                 requests.exceptions.URLRequired("x")]
    assert [classify_error(e) for e in malformed] == ["permanent"] * len(malformed)


def test_a_malformed_host_fails_at_once_naming_it():
    with pytest.raises(SourceUnavailableError, match=r"InvalidURL.*permanent, not retried"):
        open_source("bossdb", host="127.0.0.1:9 x", protocol="http", max_attempts=3)


def test_errors_are_described_in_one_short_line():
    import requests

    assert describe_error(http_error(503, "Service Unavailable")) == "HTTP 503 Service Unavailable"
    assert describe_error(http_error(503, None)) == "HTTP 503"
    assert describe_error(None) == "cancelled"
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert describe_error(ValueError("bad\n   body")) == "ValueError: bad body"
    refused = ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
               "/v1/x (Caused by NewConnectionError('[Errno 111] Connection refused'))")
    assert describe_error(requests.ConnectionError(refused)) == (
        "ConnectionError: NewConnectionError('[Errno 111] Connection refused')")


def test_a_nested_cause_is_named_without_the_outer_clauses_closing_characters():
    import requests

    nested = ("HTTPSConnectionPool(host='x', port=443): Max retries exceeded with url: /v1 "
              "(Caused by ProxyError('Unable to connect to proxy', "
              "OSError('Tunnel failed (Caused by NewConnectionError(\"[Errno 111] refused\"))')))")
    assert describe_error(requests.ConnectionError(nested)) == (
        'ConnectionError: NewConnectionError("[Errno 111] refused")')


def test_shorten_words_keeps_the_limit_and_whole_words():
    assert shorten_words("w" * 160) == "w" * 160
    assert shorten_words("w" * 161) == "w" * 156 + " ..."  # one word: cut hard
    assert shorten_words("x" * 150 + ", " + "y" * 20) == "x" * 150 + " ..."  # no dangling ","


@pytest.mark.parametrize("key, value", [("workers", 2.5), ("max_attempts", 1.9)])
def test_integer_settings_refuse_fractions_instead_of_truncating(key, value):
    # constructed directly (open_source checks its params on its own): 1.9 tries would be 1
    with pytest.raises(ConfigError, match=rf"{key}: expected int >= 1, got {value}"):
        bossdb_module.BossDBSource(host="127.0.0.1:9", protocol="http", **{key: value})
    assert bossdb_module.number_at_least(4.0, "workers", int, 1) == 4
