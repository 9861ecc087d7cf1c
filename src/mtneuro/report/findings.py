"""Plain-language findings a leaderboard table supports, computed from its rows.

Neural decoding: is any self-supervised representation better than a linear readout of the
raw rates? Rows are compared only within one data source. The report says a method is above
only where its mean is above the raw-rate readout's by more than the method's std over
seeds (the test of issue 15), and says apart those whose mean still lies inside the raw
readout's bootstrap 95% interval over test samples (the few test trials alone could give
such a difference); where every seed gave the same value (the seed varies nothing
the method does) there is no seed spread, so it says so, or compares the bootstrap 95%
intervals over test samples where both rows have one (above only when they do not
overlap). A single seed has no spread either, and the sentence says that instead of
deciding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mtneuro.report.leaderboard import OURS, LeaderboardTable, Row, metric_title, value_text
from mtneuro.vocab import SSL_METHODS

RAW_METHOD = "raw"


def _gap_text(gap: float, spread: float) -> tuple[str, str]:
    """``gap`` and ``spread`` printed with enough digits that the printed gap is larger."""
    digits = 3
    while round(gap, digits) <= round(spread, digits) and digits < 6:
        digits += 1
    return f"+{gap:.{digits}f}", f"{spread:.{digits}f}"


def _verdict(table: LeaderboardTable, key: str, raw: Row, rows: list[Row]) -> str:
    if any(row.n < 2 for row in rows):
        return "one seed, so no seed spread to compare the difference with"
    base = raw.values[key]
    theirs = table.intervals.get((raw.method, raw.data_source, key))
    beyond_std, within_raw, beyond_interval, undecided = [], [], [], []
    for row in rows:
        stat = row.values[key]
        gap = stat.mean - base.mean
        if stat.std:
            if gap > stat.std:
                shown_gap, shown_std = _gap_text(gap, stat.std)
                text = f"{row.method} ({shown_gap}, seed std {shown_std})"
                # test trials vary the raw readout too: a mean inside its interval is no win
                inside = theirs is not None and stat.mean <= theirs[1]
                (within_raw if inside else beyond_std).append(text)
            continue
        mine = table.intervals.get((row.method, row.data_source, key))
        if mine is None or theirs is None:
            undecided.append(row.method)
        elif mine[0] > theirs[1]:
            beyond_interval.append(f"{row.method} (+{gap:.3f})")
    parts = []
    if beyond_std:
        beyond = " and beyond its 95% interval over test samples" if theirs is not None else ""
        parts.append(f"above the raw-rate readout by more than the seed std{beyond}: "
                     + ", ".join(beyond_std))
    if within_raw:
        parts.append("above by more than the seed std, but inside the raw readout's 95% "
                     f"interval over test samples [{theirs[0]:.3f}, {theirs[1]:.3f}], so test "
                     "samples alone could give that difference: " + ", ".join(within_raw))
    if beyond_interval:
        parts.append("every seed gave the same value, and the 95% interval over test samples "
                     "lies above the raw readout's for: " + ", ".join(beyond_interval))
    if undecided:
        parts.append(f"{', '.join(undecided)}: every seed gave the same value, so there is no "
                     "seed spread to compare the difference with")
    if not parts:
        by_interval = any(not row.values[key].std for row in rows)
        parts.append("no self-supervised method is above the raw-rate readout by more than "
                     + ("its seed std or beyond its 95% interval" if by_interval
                        else "its seed std"))
    return "; ".join(parts)


def ssl_versus_raw(table: LeaderboardTable) -> str | None:
    """Sentences per data source and metric on our SSL rows against our raw-rate row of the
    same source; None where the table has no such pair (not neural decoding, or a method
    missing)."""
    if table.task != "neural":
        return None
    by_source: dict[str, dict[str, Row]] = {}
    for row in table.rows:
        if row.kind == OURS:
            by_source.setdefault(row.data_source, {})[row.method] = row
    pairs = [(source, ours[RAW_METHOD], [ours[m] for m in SSL_METHODS if m in ours])
             for source, ours in by_source.items() if RAW_METHOD in ours]
    pairs = [(source, raw, ssl) for source, raw, ssl in pairs if ssl]
    sentences = []
    for source, raw, ssl in pairs:
        where = f"On {source}, " if len(pairs) > 1 else ""
        for key in table.metrics:
            rows = [row for row in ssl if key in row.values]
            if key not in raw.values or not rows:
                continue
            listed = ", ".join(f"{row.method} {value_text(table, row, key)}" for row in rows)
            head = (f"{where}{metric_title(key)}: {listed} against raw rates "
                    f"{value_text(table, raw, key)}")
            sentences.append(f"{head}; {_verdict(table, key, raw, rows)}.")
    return " ".join(sentences) or None


def paired_versus_raw(table: LeaderboardTable, folders: Callable[[Row], list[Path]]) -> str:
    """Our SSL rows of a neural table against our raw-rate row of the same data source, on
    the same test bins (:func:`mtneuro.report.compare.compare_sides`, as ``mtneuro compare``:
    each row's seeds averaged, a bootstrap 95% interval over test trials); ``folders(row)``:
    the row's cell folders. Empty where there is no such pair, or a row's cells wrote no
    ``predictions.csv`` (recorded before they were written)."""
    from mtneuro.errors import ConfigError
    from mtneuro.report.compare import compare_sides, side_of, signed

    if table.task != "neural":
        return ""
    ours = [row for row in table.rows if row.kind == OURS]
    parts, unit = [], ""
    for raw in (row for row in ours if row.method == RAW_METHOD):
        rows = [r for r in ours if r.method in SSL_METHODS and r.data_source == raw.data_source]
        if not rows:
            continue
        try:  # read once for every row compared with it
            raw_side: Any = side_of(folders(raw), raw.method)
        except ConfigError as err:
            raw_side = err
        for row in rows:
            try:
                side = side_of(folders(row), row.method)
                if isinstance(raw_side, ConfigError):
                    raise raw_side
                result = compare_sides(side, raw_side, row.method, raw.method)
            except ConfigError as err:  # older cells, or rows of other test bins
                parts.append(f"{row.method}: not compared ({err})")
                continue
            unit = f"{result.n} {result.unit}"
            parts.append(f"{row.method} - raw: " + ", ".join(
                f"{metric_title(r['metric'])} {signed(r['difference'])} {_paired_interval(r)}"
                for r in result.rows if r["metric"] in table.metrics))
    if not parts or not unit:
        return ""
    return (f"Paired on the same test bins (each row's seeds averaged; 95% bootstrap interval "
            f"over {unit}; mtneuro compare): " + "; ".join(parts) + ".")


def _paired_interval(row: dict) -> str:
    from mtneuro.report.compare import difference_side

    side = difference_side(row)
    if side == "none":
        return "(no 95% interval: fewer than 5 units)"
    if side == "undefined":
        return "(no 95% interval: the metric is undefined in most resamples)"
    verdict = {"a": "above raw", "b": "below raw", "neither": "holds 0"}[side]
    return f"[{row['low']:+.3f}, {row['high']:+.3f}] ({verdict})"  # -0.000: below 0
