"""``on_sigterm`` installs its handler only where Python allows one: the main thread.

A block entered from another thread (a progress ticker, a pool's helper) must run with
no handler installed, not fail because ``signal.signal`` refuses to be called there.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from mtneuro.bench.signals import on_sigterm


def _never(signum: int, frame: object, previous: object) -> None:
    raise AssertionError("the handler must not be installed off the main thread")


def test_off_the_main_thread_the_block_runs_and_the_handler_is_left_alone():
    before = signal.getsignal(signal.SIGTERM)
    seen: dict[str, object] = {}

    def body() -> None:
        try:
            with on_sigterm(_never):
                seen["ran"] = True
                seen["inside"] = signal.getsignal(signal.SIGTERM)
        except BaseException as exc:  # noqa: BLE001 - the main thread asserts on it
            seen["error"] = exc

    thread = threading.Thread(target=body, name="not-main")
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert "error" not in seen, f"on_sigterm raised in a thread: {seen.get('error')!r}"
    assert seen.get("ran") is True
    assert seen["inside"] is before
    assert signal.getsignal(signal.SIGTERM) is before


def test_on_the_main_thread_sigterm_calls_the_handler_with_the_one_it_replaced():
    before = signal.getsignal(signal.SIGTERM)
    calls: list[tuple[int, object]] = []
    with on_sigterm(lambda signum, frame, previous: calls.append((signum, previous))):
        assert signal.getsignal(signal.SIGTERM) is not before
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:  # Python runs it between bytecodes
            time.sleep(0.01)
    assert calls == [(signal.SIGTERM, before)]
    assert signal.getsignal(signal.SIGTERM) is before
