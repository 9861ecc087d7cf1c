"""Progress of long loops, for a person and for the bench's live table.

Three readers, one call (:meth:`LoopProgress.update`):

* on a terminal, a ``tqdm`` bar that appears once the loop has run :data:`BAR_DELAY_S`
  seconds (short loops stay silent);
* in a log (stderr not a terminal: a batch job, ``tee``, CI), a line
  ``what: done/total unit (P %), R unit/s, detail, eta M min`` every
  :data:`LINE_INTERVAL_S` seconds while the loop runs (at its first update once that
  long has passed since the last line: a loop that stops updating writes nothing), and one when it ends if any was
  written; the interval counts from the process's last line (or its start), so a run of
  several loops shorter than the interval still says where it is;
* for a watcher in another process (``mtneuro bench``'s live table), the latest state as
  a small JSON file, written atomically at most every :data:`PUBLISH_INTERVAL_S` seconds
  while :func:`publishing_to` names one (:func:`read_published` reads it back).

A base module (standard library and ``tqdm``), so data loading can use it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self, TextIO

LINE_INTERVAL_S = 30.0
BAR_DELAY_S = 2.0
PUBLISH_INTERVAL_S = 0.5

_sink: Path | None = None
_last_publish = -float("inf")
#: when this process last wrote a progress line to a log, at first when this module was
#: imported (the CLI imports it at start)
_last_log_line: float = time.perf_counter()


@contextlib.contextmanager
def publishing_to(path: str | Path | None) -> Iterator[None]:
    """Within the block, loops of this process publish their progress to ``path`` (a JSON
    file; ``None``: nowhere). The file is removed when the block ends."""
    global _sink
    previous, _sink = _sink, None if path is None else Path(path)
    try:
        yield
    finally:
        if _sink is not None:
            with contextlib.suppress(FileNotFoundError):
                _sink.unlink()
        _sink = previous


def publish(what: str, done: float, total: float | None, *, unit: str, rate: float | None = None,
            rate_unit: str | None = None, detail: str = "", force: bool = False) -> None:
    """Record the current loop's state for a watcher (see the module docstring); does
    nothing outside :func:`publishing_to` and at most every :data:`PUBLISH_INTERVAL_S`
    seconds unless ``force``."""
    global _last_publish
    if _sink is None:
        return
    now = time.monotonic()
    if not force and now - _last_publish < PUBLISH_INTERVAL_S:
        return
    _last_publish = now
    state = {"what": what, "done": done, "total": total, "unit": unit, "rate": rate,
             "rate_unit": rate_unit or unit, "detail": detail, "time": time.time()}
    partial = _sink.with_name(_sink.name + ".tmp")
    try:
        partial.write_text(json.dumps(state), encoding="utf-8")
        os.replace(partial, _sink)
    except OSError:  # the watcher's folder went away: progress is a courtesy, the work goes on
        pass


def read_published(path: str | Path) -> dict[str, Any] | None:
    """The state last published to ``path``, or ``None`` (none yet, unreadable, or not a
    state: a mapping with a number ``done``, which :func:`describe_state` needs)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    done = state.get("done") if isinstance(state, dict) else None
    ok = isinstance(done, (int, float)) and not isinstance(done, bool)
    return state if ok else None


def rate_text(rate: float) -> str:
    """A rate with 3 significant digits below 100 and as an integer from there, so a slow
    run (a CPU, a big encoder) reads ``1.3``, not ``0``, and a fast one no false decimals.

    >>> [rate_text(r) for r in (0.0, 0.04321, 1.3, 6.666, 99.4, 850.2, 11778972.0)]
    ['0', '0.0432', '1.3', '6.67', '99.4', '850', '11778972']
    """
    return f"{rate:.3g}" if rate < 99.5 else f"{rate:.0f}"


def describe_state(state: dict[str, Any]) -> str:
    """``pre-training 120/400 steps, 850 samples/s, epoch 3/10`` from a published state."""
    done, total = state.get("done"), state.get("total")
    text = f"{state.get('what', '')} {done:.0f}" + (f"/{total:.0f}" if total else "")
    text += f" {state.get('unit', '')}"
    if state.get("rate"):
        unit = state.get("rate_unit") or state.get("unit", "")
        text += f", {rate_text(state['rate'])} {unit}/s"
    return text + (f", {state['detail']}" if state.get("detail") else "")


class LoopProgress:
    """Progress of a loop of ``total`` units (see the module docstring).

    Args:
        what: what the loop does (``"reading train tiles"``).
        total: units of the whole loop (``None``: unknown).
        unit: name of a unit (``"blocks"``, ``"samples"``).
        enabled: False for no bar and no lines (quiet runs); the bench is still told. While
            a watcher reads the published state (:func:`publishing_to`), it shows them.
        stream: where bar and lines go (stderr by default).
        timed: False where the units took no time worth a rate (a split kept in memory):
            no rate and no eta are shown or published, as units per second of a copy would
            be a nonsense number.
    """

    def __init__(self, what: str, total: float | None, *, unit: str = "items",
                 enabled: bool = True, stream: TextIO | None = None,
                 timed: bool = True) -> None:
        self.what, self.total, self.unit, self.timed = what, total, unit, timed
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0.0
        self.start = time.perf_counter()
        self.lines_written = 0
        self.bar: Any = None
        self.lines = False
        # A watcher (the bench's live table) shows what is published: no bar, no lines.
        shown = enabled and _sink is None
        if shown and self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=what, unit=f" {unit}", delay=BAR_DELAY_S,
                            leave=False, dynamic_ncols=True, file=self.stream)
        elif shown:
            self.lines = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(stopped=exc_type is not None)

    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.start, 1e-9)

    def update(self, n: float = 1, *, detail: str = "") -> None:
        """``n`` more units done; ``detail`` (e.g. ``"epoch 2/5, loss 0.41"``) is shown."""
        self.done += n
        publish(self.what, self.done, self.total, unit=self.unit,
                rate=self.rate() if self.timed else None, detail=detail)
        if self.bar is not None:
            self.bar.update(n)
            if detail:
                self.bar.set_postfix_str(detail, refresh=False)
        elif self.lines and time.perf_counter() - _last_log_line >= LINE_INTERVAL_S:
            self._line(detail)

    def _line(self, detail: str) -> None:
        global _last_log_line
        _last_log_line = time.perf_counter()
        self.lines_written += 1
        rate = self.rate()
        text = f"{self.what}: {self.done:.0f}"
        if self.total:
            left_min = (self.total - self.done) / max(rate, 1e-9) / 60
            text += f"/{self.total:.0f} {self.unit} ({100 * self.done / self.total:.0f} %)"
        else:
            text += f" {self.unit}"
        if self.timed:
            text += f", {rate_text(rate)} {self.unit}/s"
        text += f", {detail}" if detail else ""
        if self.total and self.timed:
            text += f", eta {left_min:.1f} min"
        print(text, file=self.stream, flush=True)

    def close(self, *, stopped: bool = False) -> None:
        """End the bar; in a log where lines were written, one more saying it finished (or,
        ``stopped``, where an error or interruption ended it: the block's exit says so)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.lines and self.lines_written:
            global _last_log_line
            _last_log_line = time.perf_counter()
            total = f"/{self.total:.0f}" if stopped and self.total else ""
            print(f"{self.what}: {'stopped' if stopped else 'done'}, {self.done:.0f}{total} "
                  f"{self.unit} in {_last_log_line - self.start:.0f} s", file=self.stream,
                  flush=True)
            self.lines_written = 0
