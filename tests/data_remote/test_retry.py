"""Backoff schedule and retry bounds of mtneuro.data.retry."""

from __future__ import annotations

import random
import threading

import pytest
from fake_clock import FakeClock

from mtneuro.data.retry import RetryFailure, RetryPolicy, retry_call
from mtneuro.errors import ConfigError


class Flaky:
    def __init__(self, failures: list[Exception], value: str = "ok") -> None:
        self.failures = list(failures)
        self.calls = 0
        self.value = value

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.value


def classify(exc: BaseException):
    if isinstance(exc, TimeoutError):
        return "transient"
    if isinstance(exc, PermissionError):
        return "permanent"
    return None


def test_delay_grows_exponentially_within_jitter_bounds():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= step / 2 and max(delays) <= step
        assert max(delays) - min(delays) > step / 4  # really jittered


def test_transient_errors_are_retried_until_success():
    fn = Flaky([TimeoutError(), TimeoutError()])
    policy = RetryPolicy(max_attempts=3, base_delay=0.001)
    assert retry_call(fn, policy=policy, classify=classify) == "ok"
    assert fn.calls == 3


def test_attempts_are_bounded():
    fn = Flaky([TimeoutError()] * 10)
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(max_attempts=4, base_delay=0.001), classify=classify)
    assert fn.calls == 4 and info.value.attempts == 4 and not info.value.permanent


def test_permanent_error_is_not_retried():
    fn = Flaky([PermissionError("403")])
    with pytest.raises(RetryFailure) as info:
        retry_call(fn, policy=RetryPolicy(max_attempts=5), classify=classify)
    assert fn.calls == 1 and info.value.permanent


def test_unclassified_errors_propagate_unchanged():
    fn = Flaky([KeyError("bug")])
    with pytest.raises(KeyError):
        retry_call(fn, policy=RetryPolicy(max_attempts=5), classify=classify)
    assert fn.calls == 1


def test_total_time_is_bounded_by_the_deadline():
    clock = FakeClock()

    def slow_failure():
        clock.now += 3.0  # each try takes 3 s of (fake) time
        raise TimeoutError()

    with pytest.raises(RetryFailure) as info:
        retry_call(
            slow_failure,
            policy=RetryPolicy(max_attempts=100, max_seconds=10.0, base_delay=0.001),
            classify=classify,
            clock=clock,
        )
    # tries start at 0, 3, 6, 9; the 4th ends at 12 and no wait fits: bounded by time, not count
    assert info.value.attempts == 4
    assert info.value.elapsed == pytest.approx(12.0)


def test_cancel_stops_retrying():
    cancel = threading.Event()

    def fail_and_cancel():
        cancel.set()
        raise TimeoutError()

    with pytest.raises(RetryFailure) as info:
        retry_call(
            fail_and_cancel,
            policy=RetryPolicy(max_attempts=5, base_delay=5.0),
            classify=classify,
            cancel=cancel,
        )
    assert info.value.cancelled and info.value.attempts == 1


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"max_seconds": -1.0}, {"base_delay": float("nan")}]
)
def test_bad_policy_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)


def test_on_retry_is_told_before_each_wait_and_not_after_the_last_try():
    fn = Flaky([TimeoutError("a"), TimeoutError("b"), TimeoutError("c")])
    told = []
    with pytest.raises(RetryFailure):
        retry_call(fn, policy=RetryPolicy(max_attempts=3, base_delay=0.001), classify=classify,
                   on_retry=lambda attempt, error, wait: told.append((attempt, str(error), wait)))
    # tries 1 and 2 are followed by a wait; try 3 ends the budget
    assert [(a, e) for a, e, _ in told] == [(1, "a"), (2, "b")]
    assert all(0.0005 <= w <= 0.001 * 2 ** (a - 1) for a, _, w in told)
