"""Known answers for ``retry_call(on_retry=...)`` and the download's retry warning
(mutation audit mut18): the caller hears of each retry before its wait, with the wait that
follows, and a download says so once however often it retries."""

from __future__ import annotations

import random
import threading
import warnings
from pathlib import Path

import pytest

from mtneuro.data.download import fetch_url
from mtneuro.data.retry import RetryFailure, RetryPolicy, retry_call
from mtneuro.errors import SourceUnavailableError


class RecordingEvent(threading.Event):
    """A cancel event that never waits: it records each timeout it is asked to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0.0))
        return self.is_set()


def _always_fails() -> None:
    raise TimeoutError("slow")


def test_on_retry_is_told_the_wait_that_follows() -> None:
    waiter, told = RecordingEvent(), []
    with pytest.raises(RetryFailure):
        retry_call(_always_fails, policy=RetryPolicy(max_attempts=4, base_delay=1.0),
                   classify=lambda exc: "transient", cancel=waiter, rng=random.Random(3),
                   on_retry=lambda attempt, error, wait: told.append(wait))
    assert len(told) == 3 and told == waiter.waits


def test_on_retry_comes_before_its_wait() -> None:
    # told while the command would otherwise look hung, not after the wait is over
    waiter, waits_done = RecordingEvent(), []
    with pytest.raises(RetryFailure):
        retry_call(_always_fails, policy=RetryPolicy(max_attempts=4, base_delay=1.0),
                   classify=lambda exc: "transient", cancel=waiter,
                   on_retry=lambda attempt, error, wait: waits_done.append(len(waiter.waits)))
    assert waits_done == [0, 1, 2]


def test_a_download_warns_once_however_often_it_retries(tmp_path: Path,
                                                         closed_port_url: str) -> None:
    url = closed_port_url
    with warnings.catch_warnings(record=True) as said, pytest.raises(SourceUnavailableError):
        warnings.simplefilter("always")  # no de-duplication by Python: count what was raised
        fetch_url(url, tmp_path / "a.bin", sha256=None, progress=False,
                  policy=RetryPolicy(max_attempts=4, base_delay=0.001))
    assert [str(w.message) for w in said] == [
        f"download of {url} failed (ConnectionError); retrying, up to 4 tries or 120 s"]
