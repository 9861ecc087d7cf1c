"""The chance line under a leaderboard table: the scores of always predicting the most
common training class (``metrics.majority`` of task-1 and neural records), so a reader can
tell a score from chance.

Each record's baseline is stated by its task's own text
(:func:`mtneuro.tasks.majority.baseline_text`). Where the table's records disagree (other
data sources, or splits), each distinct baseline is listed with the data source it belongs
to; records without one (written before baselines were kept) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mtneuro.report.leaderboard import OURS, LeaderboardTable, data_source_label
from mtneuro.report.run_records import recorded_seeds
from mtneuro.tasks.majority import CLASS_LEAD, LEADS, baseline_scores, baseline_text

#: what opens the line
HEAD = "Chance"


def _lead(task: str) -> str:
    """How the task's own summary line introduces its baseline."""
    return LEADS.get(task, CLASS_LEAD)


def _baseline(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metrics = record.get("metrics")
    majority = metrics.get("majority") if isinstance(metrics, dict) else None
    return majority if isinstance(majority, dict) and "class" in majority else None


def _own_baselines(table: LeaderboardTable, records: list[dict[str, Any]]
                   ) -> Iterator[tuple[dict[str, Any], Mapping[str, Any]]]:
    """``(record, baseline)`` of the records of ``table``'s own rows that hold a baseline."""
    ids = {cell for row in table.rows if row.kind == OURS for cell in row.cells}
    for record in records:
        baseline = _baseline(record)
        if record["cell"]["id"] in ids and baseline is not None:
            yield record, baseline


def chance_line(table: LeaderboardTable, records: list[dict[str, Any]]) -> str:
    """``Chance: <baseline text>.`` of the records of ``table``'s own rows; where they
    disagree, ``Chance: on <data source>, <text>; on <data source>, <text>.`` (a data
    source with several baselines names their cells). ``""`` where no record has one."""
    # text -> (data source, cell ids), in the order of the records
    found: dict[str, tuple[str, list[str]]] = {}
    for record, baseline in _own_baselines(table, records):
        # a multi-seed run's baseline may vary over its seeds: its text says over how many
        seeds = len(recorded_seeds(record.get("config"))) or 1
        text = baseline_text(_lead(table.task), baseline, seeds)
        found.setdefault(text, (data_source_label(record), []))[1].append(record["cell"]["id"])
    if len(found) <= 1:
        return "".join(f"{HEAD}: {text}." for text in found)
    sources = [source for source, _ in found.values()]
    parts = []
    for text, (source, cells) in found.items():
        where = f"{source} (cells {', '.join(cells)})" if sources.count(source) > 1 else source
        parts.append(f"on {where}, {text}")
    return f"{HEAD}: {'; '.join(parts)}."


def chance_marks(table: LeaderboardTable, records: list[dict[str, Any]]
                 ) -> dict[tuple[str, str], float]:
    """``(data source, metric) -> score`` of the majority baseline of ``table``'s own rows,
    for the summary chart's chance lines; a data source whose records disagree on a score
    (other splits) gets none there (:func:`chance_line` lists each)."""
    seen: dict[tuple[str, str], set[float]] = {}
    for record, baseline in _own_baselines(table, records):
        for key, value in baseline_scores(baseline).items():
            if isinstance(value, (int, float)):
                seen.setdefault((data_source_label(record), key), set()).add(float(value))
    return {where: values.pop() for where, values in seen.items() if len(values) == 1}
