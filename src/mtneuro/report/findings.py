"""Plain-language findings a leaderboard table supports, computed from its rows.

Neural decoding: is any self-supervised representation better than a linear readout of the
raw rates? The report says so only where an SSL method's mean is above the raw-rate
readout's by more than the method's std over seeds (the test of issue 15); otherwise it
says plainly that none is. A single seed has no spread to compare with, and the sentence
says that instead of deciding.
"""

from __future__ import annotations

from mtneuro.report.leaderboard import OURS, LeaderboardTable, metric_title
from mtneuro.vocab import SSL_METHODS

RAW_METHOD = "raw"


def ssl_versus_raw(table: LeaderboardTable) -> str | None:
    """One sentence per metric on our SSL rows against our raw-rate row; None where the
    table has no such pair (not neural decoding, or a method missing)."""
    if table.task != "neural":
        return None
    ours = {row.method: row for row in table.rows if row.kind == OURS}
    raw = ours.get(RAW_METHOD)
    ssl = [ours[m] for m in SSL_METHODS if m in ours]
    if raw is None or not ssl:
        return None
    sentences = []
    for key in table.metrics:
        base = raw.values.get(key)
        rows = [(row, row.values[key]) for row in ssl if key in row.values]
        if base is None or not rows:
            continue
        listed = ", ".join(f"{row.method} {stat.format(3)}" for row, stat in rows)
        head = f"{metric_title(key)}: {listed} against raw rates {base.mean:.3f}"
        if any(row.n < 2 for row, _ in rows):
            sentences.append(f"{head}; one seed, so no seed spread to compare the difference with.")
            continue
        above = [f"{row.method} (+{stat.mean - base.mean:.3f}, seed std {stat.std or 0.0:.3f})"
                 for row, stat in rows if stat.mean - base.mean > (stat.std or 0.0)]
        verdict = (f"above the raw-rate readout by more than the seed std: {', '.join(above)}"
                   if above else "no self-supervised method is above the raw-rate readout by more "
                   "than its seed std")
        sentences.append(f"{head}; {verdict}.")
    return " ".join(sentences) or None
