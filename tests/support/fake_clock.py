"""A fake clock for code that takes ``clock`` and ``cancel`` arguments (the retry loop): time
moves only when the test or a wait moves it, so schedules are known and nothing sleeps."""

from __future__ import annotations


class FakeClock:
    """Seconds that move only when the test or a :class:`FakeEvent` wait moves them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeEvent:
    """Stands for the cancel event: a wait moves the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock, set_after_waits: int | None = None) -> None:
        self.clock, self.set_after_waits = clock, set_after_waits
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return self.set_after_waits is not None and len(self.waits) >= self.set_after_waits

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.clock.now += seconds
        return self.is_set()
