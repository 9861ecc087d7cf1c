"""Bounded retries with exponential backoff and jitter.

Remote reads fail in two ways: transiently (HTTP 5xx, time-outs, dropped
connections, truncated bodies), where trying again later usually works, and
permanently (HTTP 404, a bad token), where trying again only loads the server.
:func:`retry_call` retries only what a ``classify`` function calls transient,
and stops after ``max_attempts`` tries or when a wall-clock deadline passes,
whichever comes first, so a dead server costs a bounded amount of time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from mtneuro.errors import ConfigError

T = TypeVar("T")
Verdict = Literal["transient", "permanent"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one request.

    Attributes:
        max_attempts: tries in total (1 = no retry).
        max_seconds: wall-clock budget in seconds for all tries and waits together.
        base_delay: wait in seconds before the 2nd try; doubles for each further try.
        max_delay: cap in seconds on one wait.
    """

    max_attempts: int = 6
    max_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 10.0

    def __post_init__(self) -> None:
        if int(self.max_attempts) < 1:
            raise ConfigError(f"max_attempts: expected int >= 1, got {self.max_attempts!r}")
        for key in ("max_seconds", "base_delay", "max_delay"):
            if not float(getattr(self, key)) >= 0:
                raise ConfigError(f"{key}: expected float >= 0, got {getattr(self, key)!r}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based).

        "Equal jitter": half of the exponential step is fixed, half uniform, so
        waits still grow while parallel clients spread out instead of retrying
        in lock-step.
        """
        step = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return step / 2 + rng.uniform(0.0, step / 2)


class RetryFailure(Exception):
    """A call did not succeed within its retry budget.

    Attributes:
        attempts: tries made.
        elapsed: seconds spent, tries and waits together.
        last_error: the exception of the last try.
        permanent: the last error was classified permanent (so no retry was made).
        cancelled: stopped early because another part of the same job failed.
    """

    def __init__(
        self,
        attempts: int,
        elapsed: float,
        last_error: BaseException | None,
        *,
        permanent: bool = False,
        cancelled: bool = False,
    ) -> None:
        super().__init__(f"{attempts} attempt(s) in {elapsed:.1f}s, last error: {last_error!r}")
        self.attempts = attempts
        self.elapsed = elapsed
        self.last_error = last_error
        self.permanent = permanent
        self.cancelled = cancelled


def retry_call(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    classify: Callable[[BaseException], Verdict | None],
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, retrying transient failures within ``policy``.

    Args:
        fn: the request; called with no arguments.
        policy: attempt and time budget.
        classify: maps an exception to ``"transient"`` (retry), ``"permanent"``
            (fail now) or ``None`` (not a remote failure: re-raised unchanged,
            because hiding a bug behind retries would only slow it down).
        deadline: absolute ``clock()`` time after which no new try starts; shared
            by the blocks of one large read so the whole read is bounded. Defaults
            to ``clock() + policy.max_seconds``.
        cancel: set by the caller when a sibling request failed; stops waiting.
        rng: jitter source (seed it for reproducible waits).
        clock: monotonic clock in seconds (injectable for tests).
        on_retry: called as ``on_retry(attempt, error, wait_s)`` before each wait, so a
            caller can say that it is retrying instead of looking hung.

    Returns:
        What ``fn`` returned.

    Raises:
        RetryFailure: the budget ran out, the error was permanent, or ``cancel`` was set.
    """
    rng = rng or random.Random()
    start = clock()
    if deadline is None:
        deadline = start + policy.max_seconds
    waiter = cancel or threading.Event()
    attempt = 0
    while True:
        if waiter.is_set():
            raise RetryFailure(attempt, clock() - start, None, cancelled=True)
        attempt += 1
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified right below
            verdict = classify(exc)
            if verdict is None:
                raise
            if verdict == "permanent":
                raise RetryFailure(attempt, clock() - start, exc, permanent=True) from exc
            wait = policy.delay(attempt, rng)
            if attempt >= policy.max_attempts or clock() + wait >= deadline:
                raise RetryFailure(attempt, clock() - start, exc) from exc
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            if waiter.wait(wait):
                raise RetryFailure(attempt, clock() - start, exc, cancelled=True) from exc
