"""The trainer's loss log: terms kept on the device, read back in windows, NaN/inf guard.

Each step's loss terms (0-dim device tensors) wait in :attr:`LossLog.pending`; every few
steps :meth:`LossLog.flush` reads them all back at once (one synchronisation), averages
them over ranks, stops on a non-finite value and appends one JSON line per step to
``train_log.jsonl`` (main rank only). Its ``step`` and ``epoch`` count from 0, as the
checkpoint's do; the progress bar counts epochs from 1, as people do.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from mtneuro.errors import TrainingError
from mtneuro.ssl.checkpoint import truncate_log
from mtneuro.ssl.distributed import all_reduce_mean


class LossLog:
    """Pending loss terms and ``train_log.jsonl``.

    Args:
        path: the JSON-lines file.
        batch_size: global samples per step (for the samples/s of a window).
        writes: whether this process writes the file (the main rank).
    """

    def __init__(self, path: Path | None, batch_size: int, writes: bool) -> None:
        self.path, self.batch_size, self.writes = path, batch_size, writes
        self.pending: list[tuple[int, int, dict[str, float], dict[str, torch.Tensor]]] = []
        self.window_start = time.perf_counter()
        self.last_loss = math.nan

    def add(self, step: int, epoch: int, schedule: dict[str, float],
            terms: dict[str, torch.Tensor]) -> None:
        """Queue one step's terms (not read back yet)."""
        self.pending.append((step, epoch, schedule, terms))

    def flush(self, kept: Callable[[], str]) -> tuple[int, float]:
        """Read back and write the pending steps.

        Args:
            kept: describes the checkpoint left behind, for the error message.

        Returns:
            ``(steps written, samples/s over the window since the last flush)``.

        Raises:
            TrainingError: a non-finite loss term (the steps before it are written).
        """
        if not self.pending:
            return 0, math.nan
        names = sorted(self.pending[0][3])
        stacked = torch.stack([torch.stack([p[3][k] for k in names]) for p in self.pending])
        values = all_reduce_mean(stacked).cpu()
        now = time.perf_counter()
        rate = len(self.pending) * self.batch_size / max(now - self.window_start, 1e-9)
        self.window_start = now
        finite = torch.isfinite(values).all(dim=1)
        lines = []
        for (step, epoch, sched, _), row, ok in zip(self.pending, values.tolist(), finite.tolist()):
            if not ok:
                self.pending.clear()
                self._append(lines)
                bad = ", ".join(f"{n}={v}" for n, v in zip(names, row) if not math.isfinite(v))
                raise TrainingError(f"non-finite loss at step {step} ({self.where(epoch)}): "
                                    f"{bad}; training stopped, {kept()}")
            record = {"step": step, "epoch": epoch, **dict(zip(names, row)), **sched,
                      "samples_per_s": rate}
            lines.append(json.dumps(record))
            self.last_loss = record.get("loss", math.nan)
        self.pending.clear()
        self._append(lines)
        return len(lines), rate

    def where(self, epoch: int) -> str:
        """The epoch of a record as the progress line counts it (from 1) and as the log's
        ``"epoch"`` does (from 0), so that a message matches both."""
        log = f" in {self.path.name}" if self.path is not None else ""
        return f'epoch {epoch + 1} as the progress line counts; "epoch": {epoch}{log}'

    def reset(self) -> None:
        """Start an empty file (a new run)."""
        if self.writes:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")

    def truncate(self, step: int) -> None:
        """Drop lines of steps after ``step`` (a resumed run replays them); a torn last
        line is dropped with a warning (:func:`mtneuro.ssl.checkpoint.truncate_log`)."""
        if not self.writes:
            return
        kept = truncate_log(self.path, step)
        if kept:
            self.last_loss = kept[-1].get("loss", math.nan)
        elif step > 0:  # the checkpoint says steps ran: their records are gone
            warnings.warn(f"{self.path} holds no record of the {step} steps before the "
                          "checkpoint (deleted or emptied); it will hold only the steps from "
                          f"{step + 1} on", UserWarning, stacklevel=2)

    def _append(self, lines: list[str]) -> None:
        if lines and self.writes:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
