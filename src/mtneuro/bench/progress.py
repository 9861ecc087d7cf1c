"""What the runner shows while cells run: a rich live table, or lines in a log.

The live table lists every cell with its status, time and first headline number (for a
running cell: its elapsed time, ticking, and what its current loop reports: epoch or
step and samples/s, read from the file the cell publishes to, :mod:`mtneuro.progress`),
and a caption with counts and an ETA (:func:`eta_text`). A cell complete from an
earlier run that ``--resume`` keeps is "done earlier" (status ``earlier``). Without a
terminal (logs, CI) it prints one line per cell that finishes and, at least every
:data:`LOG_INTERVAL_S` seconds, one per running cell; ``quiet`` prints nothing but
:meth:`Progress.note` lines.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from mtneuro.bench.suite import Cell
from mtneuro.progress import LINE_INTERVAL_S, describe_state, read_published
from mtneuro.vocab import FEATURE_TITLES

#: Seconds between two status lines of running cells in a log.
LOG_INTERVAL_S = LINE_INTERVAL_S
#: File in a cell's folder where its running loops publish their progress.
PROGRESS_FILE = "progress.json"

#: What a cell complete from an earlier run (kept by ``--resume``) is called everywhere.
DONE_EARLIER = "done earlier"
STYLES = {"pending": "dim", "running": "cyan", "complete": "green", "earlier": "green",
          "skipped": "blue", "failed": "red", "cancelled": "yellow"}
#: Status names shown differently (``skipped`` is a cell whose data is not here).
LABELS = {"earlier": DONE_EARLIER}
FINISHED = ("complete", "earlier", "failed", "skipped", "cancelled")

if TYPE_CHECKING:  # imported where a table is shown: importing rich draws from Python's
    # global `random` (link ids), which `import mtneuro.api` (through bench) must not move
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table


@dataclass
class CellState:
    """Live status of one cell."""

    cell: Cell
    status: str = "pending"
    started: float | None = None
    wall_s: float | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def label(status: str) -> str:
    return LABELS.get(status, status)


def _mean_wall_s(states: list[CellState], task: str | None = None) -> float | None:
    """Mean wall time of the cells (of ``task``, if given) that ran in this session
    (``None``: none yet)."""
    done = [s.wall_s for s in states if s.status in ("complete", "failed")
            and s.wall_s is not None and (task is None or s.cell.task == task)]
    return sum(done) / len(done) if done else None


def _expected_s(states: list[CellState]) -> Callable[[CellState], float] | None:
    """A cell's expected wall time: the mean of the cells of its task that ran (a task-2
    cell takes minutes where a task-1 cell takes seconds), else of all that ran; ``None``
    before any ran."""
    overall = _mean_wall_s(states)
    if overall is None:
        return None
    means = {task: _mean_wall_s(states, task) for task in {s.cell.task for s in states}}
    return lambda state: means.get(state.cell.task) or overall


def eta_seconds(states: list[CellState], parallel: int, now: float | None = None,
                fraction: Callable[[CellState], float | None] | None = None) -> float | None:
    """Seconds left, from each cell's expected wall time ``m`` (:func:`_expected_s`): each
    running cell needs ``m`` less its elapsed time, and each pending cell ``m`` on the first
    of the ``parallel`` jobs to be free; ``None`` before any cell ran.

    A running cell past its ``m`` needs what its current loop says is left, where
    ``fraction`` gives the share of that loop done (its elapsed time scaled: the cell's
    later steps, e.g. scoring, are not counted), else 0. The number is then a lower bound:
    :func:`eta_text` says so instead of printing it bare."""
    left = [s for s in states if s.status in ("pending", "running")]
    expected = _expected_s(states)
    if expected is None or not left:
        return 0.0 if not left else None
    now = time.perf_counter() if now is None else now
    # when each job is next free: a running cell's job once it ends, an idle job now
    free_at = [_remaining(s, expected(s), now, fraction) for s in left if s.status == "running"]
    free_at += [0.0] * max(0, parallel - len(free_at))
    heapq.heapify(free_at)
    for state in (s for s in left if s.status == "pending"):
        heapq.heappush(free_at, heapq.heappop(free_at) + expected(state))
    return max(free_at)


def _remaining(state: CellState, expected: float, now: float,
               fraction: Callable[[CellState], float | None] | None) -> float:
    if state.started is None:
        return expected
    elapsed = now - state.started
    if elapsed < expected:
        return expected - elapsed
    done = fraction(state) if fraction is not None else None
    return elapsed * (1 - done) / done if done is not None and 0 < done < 1 else 0.0


def eta_text(states: list[CellState], parallel: int, now: float | None = None,
             fraction: Callable[[CellState], float | None] | None = None) -> str | None:
    """The caption's ETA (``None``: no ETA to show: nothing left, or no cell timed yet).

    The rule: ``"ETA <t>"`` with ``t`` from :func:`eta_seconds` while every running cell is
    within its expected time ``m``. Once one has run longer, its remaining time is only
    estimated from its current loop (``fraction``) or unknown (0), so ``t`` is a lower
    bound: ``"ETA at least <t>"``, or, when ``t`` rounds to 0 s (only such cells are left),
    ``"ETA unknown (N running past the mean <m>)"``. A ``t`` under half a second with no
    such cell is ``"ETA <1s"``: never a bare "0s" while work remains."""
    if not any(s.status in ("pending", "running") for s in states):
        return None
    now = time.perf_counter() if now is None else now  # one clock reading for both
    eta, expected = eta_seconds(states, parallel, now, fraction), _expected_s(states)
    if eta is None or expected is None:
        return None
    overrun = [s for s in states if s.status == "running" and s.started is not None
               and now - s.started >= expected(s)]
    if round(eta) >= 1:
        return f"ETA at least {format_seconds(eta)}" if overrun else f"ETA {format_seconds(eta)}"
    if overrun:
        return (f"ETA unknown ({len(overrun)} running past the mean "
                f"{format_seconds(expected(overrun[0]))})")
    return "ETA <1s"


def _headline_text(state: CellState) -> str:
    if state.error:  # its start says what happened, its end (a pip command, a flag) what to do
        error = state.error
        return error if len(error) <= 80 else f"{error[:38]} ... {error[-37:]}"
    for key, value in state.headline.items():
        if value is None:
            continue
        feature = key.removeprefix("r2_")
        if key != feature and feature in FEATURE_TITLES:
            # Task 3 heads its headline with the in-sample R² of the published table; the
            # held-out one is what `mtneuro task3` prints, so the live line shows that.
            held_out = state.headline.get(f"r2_test_{feature}")
            if held_out is not None:
                return f"held-out R² {feature} {held_out:.3f}"
            return f"{key} {value:.3f} (in-sample)"
        return f"{key} {value:.3f}"
    return ""


class Progress:
    """Shows cell states; use as a context manager around the run."""

    def __init__(self, states: list[CellState], *, parallel: int, quiet: bool = False,
                 console: Console | None = None, cells_dir: str | Path | None = None) -> None:
        from rich.console import Console

        self.states = states
        self.parallel = parallel
        self.console = console or Console(stderr=True)
        self.live_mode = not quiet and self.console.is_terminal
        self.quiet = quiet
        self.cells_dir = None if cells_dir is None else Path(cells_dir)
        self._live: Live | None = None
        self._announced: set[str] = set()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self.live_mode:  # redrawn twice a second by rich's thread: times tick during a cell
            from rich.live import Live

            self._live = Live(console=self.console, refresh_per_second=2, transient=False,
                              get_renderable=self._table)
            self._live.__enter__()
        elif not self.quiet:
            self._ticker = threading.Thread(target=self._log_running, daemon=True,
                                            name="bench-progress")
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(*exc)

    def _published(self, state: CellState) -> dict[str, Any] | None:
        if self.cells_dir is None or state.status != "running":
            return None
        return read_published(self.cells_dir / state.cell.id / PROGRESS_FILE)

    def inner(self, state: CellState) -> str:
        """What a running cell's current loop last published (``""``: nothing yet)."""
        published = self._published(state)
        return describe_state(published) if published else ""

    def loop_fraction(self, state: CellState) -> float | None:
        """The share of its current loop a running cell has done (``None``: not known)."""
        published = self._published(state) or {}
        total = published.get("total")
        if not isinstance(total, (int, float)) or isinstance(total, bool) or total <= 0:
            return None
        return float(published["done"]) / float(total)

    def _log_running(self) -> None:
        """In a log: every :data:`LOG_INTERVAL_S` seconds, a line per running cell."""
        while not self._stop.wait(LOG_INTERVAL_S):
            now = time.perf_counter()
            for state in list(self.states):
                if state.status == "running" and state.started is not None:
                    inner = self.inner(state)
                    self.console.print(
                        f"[{self.caption()}] running {state.cell.id} "
                        f"{format_seconds(now - state.started)}" + (f": {inner}" if inner else ""),
                        highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        """A line about the run itself (printed even when ``quiet``: it says what is replaced)."""
        self.console.print(text, highlight=False, soft_wrap=True)

    def caption(self, now: float | None = None) -> str:
        """Counts and the ETA (:func:`eta_text`) as at ``now`` (default: the clock)."""
        counts = {k: sum(s.status == k for s in self.states) for k in STYLES}
        done = counts["complete"] + counts["earlier"] + counts["skipped"]
        text = f"{done}/{len(self.states)} done"
        if counts["failed"]:
            text += f", {counts['failed']} failed"
        if counts["running"]:
            text += f", {counts['running']} running"
        eta = eta_text(self.states, self.parallel, now, self.loop_fraction)
        return text if eta is None else f"{text}, {eta}"

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(caption=self.caption(), expand=False)
        for column in ("cell", "status", "time", "result / progress"):
            table.add_column(column)
        now = time.perf_counter()
        for state in self.states:
            elapsed = state.wall_s
            if state.status == "running" and state.started is not None:
                elapsed = now - state.started
            style = STYLES.get(state.status, "")
            table.add_row(state.cell.id, f"[{style}]{label(state.status)}[/]",
                          format_seconds(elapsed),
                          self.inner(state) or _headline_text(state))
        return table

    def refresh(self) -> None:
        """Redraw the table, or print lines for newly finished cells."""
        if self._live is not None:
            self._live.refresh()
            return
        if self.quiet:
            return
        for state in self.states:
            if state.status in FINISHED and state.cell.id not in self._announced:
                self._announced.add(state.cell.id)
                done = len(self._announced)
                line = (f"[{done}/{len(self.states)}] {label(state.status):9s} {state.cell.id} "
                        f"{format_seconds(state.wall_s)} {_headline_text(state)}")
                self.console.print(line.rstrip(), highlight=False, soft_wrap=True)
