"""Fixtures: a tiny random volume, a loopback Boss server serving it, the CLI in process."""

from __future__ import annotations

import pytest
from array_source import ArraySource, random_volume
from boss_server import BossTestServer

SHAPE = (16, 512, 512)
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="session")
def volume() -> dict:
    return random_volume(SHAPE, seed=7)


@pytest.fixture
def array_source(volume) -> ArraySource:
    return ArraySource(volume)


@pytest.fixture
def boss_server(array_source, monkeypatch):
    """A fresh server per test (its fault queue and request log start empty)."""
    for module in ("intern", "blosc"):
        pytest.importorskip(module, reason="needs mtneuro[bossdb]")
    for var in PROXY_VARS:  # loopback traffic must not go through a proxy
        monkeypatch.delenv(var, raising=False)
    with BossTestServer(array_source, stall_seconds=3.0) as server:
        yield server


@pytest.fixture
def fast_params(boss_server) -> dict:
    """bossdb source params for the test server with short waits.

    The client time-out is generous: on a loaded machine an answer can take longer than a
    stall test's 0.5 s, and a retried request would change the request counts the tests check.
    Tests that inject stalls set a short one themselves.
    """
    return {
        "host": boss_server.host,
        "protocol": "http",
        "timeout": 10.0,
        "backoff": 0.01,
        "max_attempts": 4,
        "max_retry_seconds": 10.0,
        "block_shape": (8, 256, 256),
        "seed": 0,
    }


@pytest.fixture
def cli(capsys):
    """Run ``mtneuro ARGV`` in this process; returns ``(exit code, stdout, stderr)``."""
    from mtneuro.cli.main import main

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            main(argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    return run
