"""Training progress for people watching: a bar on a terminal, timed lines in a log.

On a terminal, a ``tqdm`` bar counts samples, so its rate reads in samples/s, with the
epoch and the last loss beside it. Where stderr is not a terminal (a batch job's log, a
``tee``), a line ``step S/T (epoch E/N): loss L, R samples/s, eta M min`` is written at
most every :data:`LINE_INTERVAL_S` seconds, and at the last step. Either way the state is
published for a watching bench (:func:`mtneuro.progress.publish`).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from mtneuro.progress import LINE_INTERVAL_S, publish, rate_text


class Progress:
    """Progress of ``total_steps`` steps of ``batch_size`` samples.

    Args:
        total_steps: steps of the whole run.
        batch_size: samples per step.
        steps_per_epoch: to show the epoch.
        initial_step: steps already done (a resumed run).
        enabled: False for no output at all (quiet runs, non-main ranks).
        stream: where to write (stderr by default).
    """

    def __init__(
        self,
        total_steps: int,
        batch_size: int,
        steps_per_epoch: int,
        initial_step: int = 0,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.batch, self.per_epoch = total_steps, batch_size, steps_per_epoch
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.lines = False
        if enabled and self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total_steps * batch_size, initial=initial_step * batch_size,
                            unit=" samples", dynamic_ncols=True, file=self.stream)
        elif enabled:
            self.lines = True
        self.start = time.perf_counter()
        self.start_step = initial_step
        self.last_line = -float("inf")

    def update(self, step: int, new_steps: int, loss: float, rate: float) -> None:
        """After ``new_steps`` more steps: now at ``step`` (1-based count), last ``loss``,
        ``rate`` samples/s over the latest window."""
        epoch = min(self.total, step - 1) // max(self.per_epoch, 1) + 1
        epochs = -(-self.total // max(self.per_epoch, 1))
        publish("pre-training", step, self.total, unit="steps", rate=rate, rate_unit="samples",
                detail=f"epoch {epoch}/{epochs}, loss {loss:.4f}", force=step >= self.total)
        if self.bar is not None:
            self.bar.update(new_steps * self.batch)
            self.bar.set_postfix(epoch=f"{epoch}/{epochs}", loss=f"{loss:.4f}", refresh=False)
            return
        now = time.perf_counter()
        if not self.lines or (now - self.last_line < LINE_INTERVAL_S and step < self.total):
            return
        self.last_line = now
        done = step - self.start_step
        mean_rate = done * self.batch / max(now - self.start, 1e-9)
        eta_min = (self.total - step) * self.batch / max(mean_rate, 1e-9) / 60
        print(f"step {step}/{self.total} (epoch {epoch}/{epochs}): loss {loss:.4f}, "
              f"{rate_text(rate)} samples/s (mean {rate_text(mean_rate)}), "
              f"eta {eta_min:.1f} min",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
