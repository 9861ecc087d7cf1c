"""retry_call's waits, shared deadline and cancellation, on a fake clock whose waits take no
real time: known schedules instead of sleeping."""

from __future__ import annotations

import random

import pytest
from fake_clock import FakeClock, FakeEvent

from mtneuro.data.retry import RetryFailure, RetryPolicy, retry_call


def transient(exc: BaseException) -> str | None:
    return "transient" if isinstance(exc, TimeoutError) else None


def failing(clock: FakeClock, seconds: float = 0.0):
    calls: list[float] = []

    def fn():
        calls.append(clock.now)
        clock.now += seconds
        raise TimeoutError("try again")

    return fn, calls


def test_each_wait_follows_the_backoff_of_its_own_attempt():
    """Waits after tries 1..5 of base 1 s, cap 8 s lie in [step/2, step] of 1, 2, 4, 8, 8."""
    clock = FakeClock()
    event = FakeEvent(clock)
    fn, calls = failing(clock)
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(max_attempts=6, max_seconds=1e6, base_delay=1.0,
                                          max_delay=8.0),
                   classify=transient, cancel=event, rng=random.Random(1), clock=clock)
    assert info.value.attempts == 6 and len(calls) == 6 and len(event.waits) == 5
    for wait, step in zip(event.waits, [1.0, 2.0, 4.0, 8.0, 8.0]):
        assert step / 2 <= wait <= step
    assert isinstance(info.value.last_error, TimeoutError)


def test_a_given_deadline_bounds_the_tries_before_max_seconds_does():
    """Blocks of one read share a deadline: tries take 3 s, waits 0.5-1 s; with the deadline
    at 5 s only the tries at ~0 and ~3.5-4 s start, whatever max_seconds allows."""
    clock = FakeClock()
    event = FakeEvent(clock)
    fn, calls = failing(clock, seconds=3.0)
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(max_attempts=10, max_seconds=1000.0, base_delay=1.0),
                   classify=transient, deadline=5.0, cancel=event, rng=random.Random(0),
                   clock=clock)
    assert info.value.attempts == 2 and len(calls) == 2 and calls[-1] < 5.0


def test_no_wait_runs_past_the_deadline():
    """A wait that would end after the deadline is not started: the call fails at once."""
    clock = FakeClock()
    event = FakeEvent(clock)
    fn, calls = failing(clock, seconds=3.0)
    with pytest.raises(RetryFailure) as info:
        # the first wait is 8-16 s; 3 + 8 > 10
        retry_call(fn, policy=RetryPolicy(max_attempts=10, max_seconds=10.0, base_delay=16.0,
                                          max_delay=16.0),
                   classify=transient, cancel=event, rng=random.Random(0), clock=clock)
    assert info.value.attempts == 1 and len(calls) == 1 and event.waits == []
    assert info.value.elapsed == 3.0


def test_a_cancel_set_before_the_call_makes_no_request():
    clock = FakeClock()
    fn, calls = failing(clock)
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(), classify=transient,
                   cancel=FakeEvent(clock, set_after_waits=0), clock=clock)
    assert calls == [] and info.value.cancelled and info.value.attempts == 0


def test_a_cancel_during_a_wait_stops_with_the_last_tries_error():
    clock = FakeClock()
    event = FakeEvent(clock, set_after_waits=2)
    fn, calls = failing(clock)
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(max_attempts=10, base_delay=1.0), classify=transient,
                   cancel=event, rng=random.Random(0), clock=clock)
    failure = info.value
    assert failure.cancelled and not failure.permanent
    assert failure.attempts == 2 and len(calls) == 2 and len(event.waits) == 2
    # the documented last_error: what the last try raised, not None
    assert isinstance(failure.last_error, TimeoutError)
