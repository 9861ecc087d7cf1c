"""Shared fixtures: where the real shared data lives, and small helpers."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MTNEURO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
# Test-only sources and the loopback Boss server (tests/support/), importable by every test.
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests needing it skip with the reason if absent."""
    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.skip(f"real shared data not found at {SHARED_DATA} (expected ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def packaged_data() -> Path:
    """The real samples shipped in the package (``chewie-1``, the X-ray slice z=309), laid
    out like ``../shared/data``: always there, so tests needing only these never skip."""
    from importlib.resources import files

    return Path(str(files("mtneuro") / "resources" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true",
                     help="also run tests marked slow (minutes; kept out of the default run)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``@pytest.mark.extra("seg")`` skip where that extra is not installed;
    tests marked ``slow`` skip unless ``--run-slow`` is given."""
    from mtneuro.extras import missing_modules

    if item.get_closest_marker("slow") and not item.config.getoption("--run-slow"):
        pytest.skip("slow: run with --run-slow")

    for mark in item.iter_markers(name="extra"):
        missing = missing_modules(mark.args[0])
        if missing:
            pytest.skip(f"needs mtneuro[{mark.args[0]}]: {', '.join(missing)} not installed")


@pytest.fixture(autouse=True)
def _deterministic_threads(monkeypatch):
    """Tests run on 2 cores; keep torch from oversubscribing them."""
    try:
        import torch

        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    yield


@pytest.fixture
def one_torch_thread():
    """torch on one intra-op thread for the test, then as it was (tiny models gain nothing
    from a second thread, and results that depend on the count stay fixed)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _is_local(family: int, address: object) -> bool:
    """A Unix socket, or an IP address of this machine (loopback or unspecified)."""
    import ipaddress
    import socket

    if family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name other than localhost: resolving it already left the machine
    return ip.is_loopback or ip.is_unspecified


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Tests never touch the internet: a connection from this process to anything but this
    machine fails at once, naming the address (a download that a default would start, e.g.
    pretrained weights, fails the test instead of passing where a network happens to be)."""
    import socket

    def guard(method):
        def guarded(sock, address, *args, **kwargs):
            if not _is_local(sock.family, address):
                raise ConnectionRefusedError(
                    f"test tried to connect to {address!r}: tests never touch the internet "
                    "(tests/conftest.py)")
            return method(sock, address, *args, **kwargs)
        return guarded

    monkeypatch.setattr(socket.socket, "connect", guard(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(socket.socket.connect_ex))


@pytest.fixture(autouse=True)
def _fresh_progress_clock(monkeypatch):
    """Each test starts like a new process: no progress line written yet (the interval
    between log lines counts across a process's loops, see :mod:`mtneuro.progress`)."""
    import time

    from mtneuro import progress

    monkeypatch.setattr(progress, "_last_log_line", time.perf_counter())


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/nothing.bin"


@pytest.fixture
def retained_memory_calls(monkeypatch) -> list[tuple[bool, str]]:
    """Records ``(enabled, device type)`` of every ``cpu_memory.retained_cpu_memory`` block."""
    import torch

    from mtneuro import cpu_memory

    seen: list[tuple[bool, str]] = []

    @contextlib.contextmanager
    def recorder(enabled: bool = True, device: torch.device | str = "cpu"):
        seen.append((enabled, torch.device(device).type))
        yield enabled

    monkeypatch.setattr(cpu_memory, "retained_cpu_memory", recorder)
    return seen
