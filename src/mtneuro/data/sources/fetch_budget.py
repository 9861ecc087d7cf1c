"""One retry budget for all the requests of one fill or read of several chunks.

A cache fills its missing chunks on a thread pool, one upstream read per chunk
(``mtneuro data fetch``, ``data verify --repair``, a read that finds chunks missing). Were
each read given its own retry budget, a dead server would hold the command for that budget
once per round of workers: when the first chunk gave up, the chunks the workers had already
started went on for their whole budget, and the pool started new ones meanwhile. Instead
the cache opens one :class:`FetchBudget` for the whole job (:func:`shared_budget`), and a
source that retries (bossdb) takes it from :func:`current_budget`:

* the reads of the job stop retrying at one deadline: the retry budget counted from the
  first retry since the job's last answered request (a read that starts while all is well
  counts from its own start, as alone), so a long healthy fill is not cut short, while a
  server that stops answering costs the budget once, plus the request then in flight;
* the first request that fails for good (budget spent, or a permanent error) cancels the
  job: running retries stop, and no new request is sent.

A source read outside any job (no current budget) makes its own, which gives today's
single-read semantics. Worker threads see the job's budget when they run in a copy of the
submitting thread's context (:func:`mtneuro.data.sources.cache_lock.map_chunks` does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mtneuro.errors import DataError


class FetchCancelled(DataError):
    """A request not made, or its retries stopped, because another one of the same job
    failed for good (that one's error is what the job raises)."""


class FetchBudget:
    """Deadline, cancel event and first failure shared by the requests of one job.

    Args:
        hint: how to go on without the upstream, to end its failure messages (a cache names
            the address it was filled from); None for the source's own.
    """

    def __init__(self, hint: str | None = None) -> None:
        self.hint = hint
        self.cancel = threading.Event()
        self._trouble_since: float | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    def deadline(self, seconds: float) -> float:
        """The ``time.monotonic()`` after which a read starting now with a retry budget of
        ``seconds`` starts no new try: that long after the job's trouble began, or now."""
        since = self._trouble_since
        return (time.monotonic() if since is None else since) + seconds

    def trouble(self) -> None:
        """A request of the job failed and is retried: reads starting from now on share the
        budget counted from the first such failure (until a request is answered)."""
        if self._trouble_since is None:
            self._trouble_since = time.monotonic()

    def answered(self) -> None:
        """A request of the job was answered: the server is alive, the budget starts over."""
        self._trouble_since = None

    def fail(self, error: BaseException) -> None:
        """Record ``error`` as the job's failure, unless one failed first (an error caused by
        the cancellation is never the first), and cancel the job."""
        with self._lock:
            if not self.cancel.is_set():
                self._failure = error
                self.cancel.set()

    @property
    def failure(self) -> BaseException | None:
        """The error that ended the job, if one did."""
        return self._failure

    def check(self) -> None:
        """Raise :class:`FetchCancelled` once the job has failed: start no new request."""
        if self.cancel.is_set():
            raise FetchCancelled("cancelled: another request of the same fill failed")


_CURRENT: ContextVar[FetchBudget | None] = ContextVar("mtneuro_fetch_budget", default=None)


def current_budget() -> FetchBudget | None:
    """The budget of the job this thread works for, if any."""
    return _CURRENT.get()


@contextmanager
def shared_budget(hint: str | None = None) -> Iterator[FetchBudget]:
    """Make a new :class:`FetchBudget` current within the block.

    The block's error is the job's first failure: a :class:`FetchCancelled` raised by a
    request that only stopped because of it (the first to be collected is often one of
    those) is replaced by it. Any error leaving the block cancels the job, so workers still
    running stop retrying.
    """
    budget = FetchBudget(hint)
    token = _CURRENT.set(budget)
    try:
        yield budget
    except FetchCancelled:
        budget.cancel.set()
        if budget.failure is not None:
            raise budget.failure from None
        raise
    except BaseException:
        budget.cancel.set()
        raise
    finally:
        _CURRENT.reset(token)
