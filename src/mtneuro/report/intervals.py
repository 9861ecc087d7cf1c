"""Bootstrap 95% intervals of our leaderboard values, read from the cells' records.

A task records, beside its metrics, intervals over test samples (``metrics["intervals"]``,
:mod:`mtneuro.stats`). A leaderboard row shows them only where its seeds do not vary the
run (one cell, or every cell's value of every metric equal): then the spread over seeds says
nothing and the interval over test samples (of the row's first cell) is the uncertainty to
show. Where seeds vary one metric of a row, a value that happens to be equal over its seeds
is not shown with the first seed's interval as if it were every seed's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtneuro.report.leaderboard import OURS, LeaderboardTable, data_source_label
from mtneuro.report.row_names import row_method

#: headline keys whose interval sits under another name in ``metrics["intervals"]``
_ALIASES = {"f1_avg": ("avg_f1",), "iou_avg": ("avg_iou",)}


def _path(key: str) -> tuple[str, ...]:
    """Where a headline key's interval is in ``metrics["intervals"]``."""
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("r2_test_"):
        return ("r2_test", key.removeprefix("r2_test_"))
    for nested in ("f1_", "iou_"):  # task 2's per-class headline keys
        if key.startswith(nested):
            return (nested[:-1], key.removeprefix(nested))
    return (key,)


def headline_interval(metrics: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The interval recorded for headline ``key`` (``{"low", "high", ...}``), if any."""
    node: Any = metrics.get("intervals")
    direct = node.get(key) if isinstance(node, Mapping) else None
    if isinstance(direct, Mapping) and "low" in direct:  # e.g. f1_weighted, not task 2's f1 / weighted
        return direct
    for part in _path(key):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node if isinstance(node, Mapping) and "low" in node else None


def table_intervals(table: LeaderboardTable, records: list[dict[str, Any]]
                    ) -> dict[tuple[str, str, str], tuple[float, float]]:
    """``(method, data source, metric) -> (low, high)`` for the rows of ``table`` whose
    seeds agree (see the module docstring); the summary chart's ``intervals``."""
    out: dict[tuple[str, str, str], tuple[float, float]] = {}
    cells = [r for r in records if r.get("status") == "complete" and r.get("task") == table.task
             and (r.get("cell") or {}).get("setting") == table.setting]
    for row in table.rows:
        if row.kind != OURS:
            continue
        mine = [r for r in cells if row_method(r) == row.method
                and data_source_label(r) == row.data_source]
        if not mine:
            continue
        if row.n > 1 and any(stat.std for stat in row.values.values()):
            continue  # seeds vary the run: its error bars are the std over seeds
        for key in row.values:
            interval = headline_interval(mine[0].get("metrics") or {}, key)
            if interval is not None and interval["low"] is not None:
                out[(row.method, row.data_source, key)] = (float(interval["low"]),
                                                           float(interval["high"]))
    return out
