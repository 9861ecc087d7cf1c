"""Audit (s19) of the retry budget shared by the requests of one fill
(:mod:`mtneuro.data.sources.fetch_budget`) and of a bossdb read that shares it: the first
failure is the job's, any error cancels the job, and a read whose blocks were not all read
never returns."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mtneuro.data.sources import open_source
from mtneuro.data.sources.cache_lock import map_chunks
from mtneuro.data.sources.fetch_budget import (
    FetchBudget,
    FetchCancelled,
    current_budget,
    shared_budget,
)
from mtneuro.errors import SourceUnavailableError


def test_the_first_failure_is_the_job_s_and_cancels_it() -> None:
    budget = FetchBudget()
    budget.check()  # nothing failed yet: requests may start
    first, later = OSError("first"), OSError("later")
    budget.fail(first)
    budget.fail(later)  # a request that stopped because of the first
    assert budget.failure is first and budget.cancel.is_set()
    with pytest.raises(FetchCancelled, match="another request of the same fill failed"):
        budget.check()


def test_an_error_leaving_the_block_cancels_the_job_and_the_budget_is_current_inside() -> None:
    assert current_budget() is None
    with pytest.raises(KeyError), shared_budget("hint") as budget:
        assert current_budget() is budget and budget.hint == "hint"
        raise KeyError("x")
    assert budget.cancel.is_set()  # workers still retrying stop
    assert current_budget() is None


def test_a_cancellation_leaving_the_block_is_replaced_by_the_first_failure() -> None:
    real = OSError("HTTP 404")
    with pytest.raises(OSError) as info, shared_budget() as budget:
        budget.fail(real)
        budget.check()
    assert info.value is real
    # no failure recorded: the cancellation itself
    with pytest.raises(FetchCancelled), shared_budget():
        raise FetchCancelled("stopped")


def test_a_read_whose_other_blocks_were_cancelled_raises_instead_of_returning(
        boss_server, fast_params: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # one worker: block 1 is read, then another chunk of the job fails, so block 2 is never
    # requested; returning would hand out block 2's uninitialised memory as data
    source = open_source("bossdb", **{**fast_params, "workers": 1,
                                      "block_shape": (8, 256, 256)})
    requested: list[Any] = []
    other = OSError("another chunk failed for good")

    def fetch_block(channel: str, block: Any, deadline: float, budget: FetchBudget) -> Any:
        requested.append(block)
        budget.fail(other)
        return np.ones(tuple(hi - lo for lo, hi in block), dtype=np.uint8)

    monkeypatch.setattr(source, "_fetch_block", fetch_block)
    with pytest.raises(OSError) as info, shared_budget():
        source.read_channel("image", (0, 8), (0, 256), (0, 512))  # 2 blocks
    assert info.value is other and len(requested) == 1
    # outside a job, the read's own budget: the failure is not one of its requests' errors
    with pytest.raises(FetchCancelled, match="image read cancelled"):
        source.read_channel("image", (0, 8), (0, 256), (0, 512))
    assert len(requested) == 2


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The budget's clock, set by the test; it starts at the real one, which the retries
    keep (a deadline in their past would allow no retry)."""
    from mtneuro.data.sources import fetch_budget

    now = [time.monotonic()]
    monkeypatch.setattr(fetch_budget, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


@pytest.mark.filterwarnings("ignore:bossdb at .* retrying")
def test_a_retried_request_starts_the_job_s_trouble(boss_server, fast_params: dict,
                                                     clock: list[float]) -> None:
    # reads starting later share the budget counted from this failure, not their own start
    source = open_source("bossdb", **{**fast_params, "max_attempts": 2})
    boss_server.inject("error500", count=None)
    with pytest.raises(SourceUnavailableError, match="failed 2 time"), \
            shared_budget() as budget:
        source.read_channel("image", (0, 8), (0, 64), (0, 64))
    start = clock[0]
    clock[0] = start + 1000.0
    assert budget.deadline(10.0) == start + 10.0


def test_an_answered_read_gives_later_reads_the_whole_budget(boss_server, fast_params: dict,
                                                             clock: list[float]) -> None:
    source = open_source("bossdb", **fast_params)
    with shared_budget() as budget:
        budget.trouble()  # an earlier request of the job was retried
        start = clock[0]
        clock[0] = start + 100.0
        source.read_channel("image", (0, 8), (0, 64), (0, 64))  # the server answers
        assert budget.deadline(10.0) == start + 110.0


def test_chunk_workers_run_in_the_job_s_budget() -> None:
    # a worker thread outside the job's context would make each read its own budget
    with shared_budget() as budget:
        seen = map_chunks(lambda item, wait: current_budget(), [0, 1, 2, 3], workers=2)
    assert seen == [budget] * 4


def test_a_failing_item_sets_stop_for_the_items_still_running() -> None:
    stop = threading.Event()
    started = threading.Event()

    def work(item: int, wait: bool) -> int:
        if item == 0:
            started.wait(5)  # item 1 is running when item 0 fails
            raise ValueError("item 0")
        started.set()
        if not stop.wait(5):  # ends early only once told to
            raise TimeoutError("stop was never set")
        return item

    begin = time.monotonic()
    with pytest.raises(ValueError, match="item 0"):
        map_chunks(work, [0, 1], workers=2, stop=stop)
    assert stop.is_set() and time.monotonic() - begin < 4
