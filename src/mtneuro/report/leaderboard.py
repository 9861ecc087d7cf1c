"""Leaderboard tables from bench cell records, with published numbers in separate rows.

Reads every ``DIR/cells/<id>/metrics.json`` written by ``mtneuro bench`` (but those of an
earlier suite, :data:`~mtneuro.report.suite_cells.SUITE_CELLS`), groups
complete cells by (task, setting, method, data source) and reports mean ± sample
std over their seeds of each headline number. Published rows of the same task
setting (:mod:`mtneuro.report.published`) follow, each labelled with its source
(``paper, real volume`` / ``reference code`` / ``reference code, run here``). Every
row names its data source, so numbers on the synthetic phantom are never read as
real-volume numbers, and each of our rows carries the protocol cards of its cells
(:mod:`mtneuro.tasks.protocol`): whether it is comparable with the published rows,
or how it departs from their protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtneuro.report.published import Stat, published_rows
from mtneuro.report.row_names import row_method
from mtneuro.report.suite_cells import read_suite_cells
from mtneuro.tasks.api import READABLE_SCHEMAS
from mtneuro.tasks.protocol import SUBVOLUME_NOTE, SUBVOLUME_SETTINGS, UNCHECKED
from mtneuro.vocab import FEATURE_TITLES, TASK_TITLES

TASK_ORDER = tuple(TASK_TITLES)
VOLUME_SOURCES = {
    "phantom": "phantom (synthetic volume)",
    "bossdb": "real volume (BossDB prasad2020)",
    "slice": "real slice z=309 only",
}
METRIC_TITLES = {
    "accuracy": "Accuracy", "delta_accuracy": "δ-Accuracy", "f1_weighted": "Weighted F1",
    "f1_macro": "Macro F1",
    "f1_avg": "F1 avg", "iou_avg": "IoU avg",
}
# Task 3: ``r2_*`` is the in-sample R² of the published table's definition, ``r2_test_*`` held out.
METRIC_TITLES.update({f"r2_{k}": f"R² {v} (in-sample)" for k, v in FEATURE_TITLES.items()})
METRIC_TITLES.update({f"r2_test_{k}": f"R² {v} (held-out)" for k, v in FEATURE_TITLES.items()})
OURS = "ours"
#: ends the reason given for a record of a standalone task command (``mtneuro task1 --out X``)
STANDALONE_RUN = "not a bench cell"
#: Under a task-3 row whose in-sample fit reaches this R² on noise (``r2_in_sample_chance``:
#: features / (crops - 1), :func:`mtneuro.tasks.semantic_probe.in_sample_chance`).
IN_SAMPLE_CHANCE = ("its in-sample R² (the published column) reaches about {:.2f} on a target "
                    "its features say nothing about, with this many features and crops; its "
                    "held-out R² says what the embedding knows")


def metric_title(key: str) -> str:
    if key in METRIC_TITLES:
        return METRIC_TITLES[key]
    for prefix, title in (("f1_", "F1"), ("iou_", "IoU"), ("r2_", "R²")):
        if key.startswith(prefix):
            return f"{title} {key[len(prefix):]}"
    return key


def data_source_label(record: dict[str, Any]) -> str:
    """Human label of where a cell's data came from (``phantom (synthetic volume)``, ...).

    A cache is labelled by the source that filled it (its ``describe()`` stores that
    under ``upstream``), so a cache of the phantom still reads as synthetic.
    """
    source = record.get("source")
    if isinstance(source, dict):
        if source.get("label"):
            return str(source["label"])
        name = str(source.get("source", "unknown"))
        if name == "cache":
            upstream = source.get("upstream")
            inner = upstream.get("source") if isinstance(upstream, dict) else None
            if inner:
                return f"{VOLUME_SOURCES.get(str(inner), inner)}, via local cache"
            return "local cache (filled from an unrecorded source)"
        return VOLUME_SOURCES.get(name, name)
    return str(source) if source else "unknown"


@dataclass
class RowCard:
    """Protocol cards of the cells of one of our rows, merged.

    Attributes:
        protocols: ``"<name> v<version>"`` of the cells' cards.
        deviations: every deviation of any cell, in first-seen order.
        notes: every note of any cell (shown, never counted against comparability), likewise.
        missing: cells whose record has no card (written before cards existed).
        unchecked: cells of a task without a card builder (:data:`UNCHECKED`).
    """

    protocols: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: int = 0
    unchecked: int = 0

    @property
    def verdict(self) -> str:
        """One cell of text: is the row comparable with the published rows?"""
        if self.missing:
            return "unknown: no protocol card"
        if self.unchecked:
            return "unknown: not checked"
        if not self.deviations:
            return "yes: published protocol"
        return f"no: {len(self.deviations)} deviation(s)"


@dataclass
class Row:
    """One leaderboard row: our method over seeds, or a published number."""

    kind: str  # OURS or a published source label
    method: str
    data_source: str
    values: dict[str, Stat]
    n: int = 0
    failed: int = 0
    note: str = ""
    cells: list[str] = field(default_factory=list)
    run_here: bool = False  # a reference-code run measured by us, not a published number
    card: RowCard | None = None  # ours only

    @property
    def label(self) -> str:
        """Whose row it is: ours, ``published: <source label>``, or a run made here."""
        if self.kind == OURS:
            return OURS
        return self.kind if self.run_here else f"published: {self.kind}"

    @property
    def seeds_n(self) -> int | None:
        """The n tables and charts print beside the row: ours, its seeds; a reference-code
        run made here, the seeds of its values; a published row's is not known (``None``)."""
        if self.kind == OURS:
            return self.n
        counts = [stat.n for stat in self.values.values() if stat.n]
        return max(counts) if self.run_here and counts else None


@dataclass
class LeaderboardTable:
    task: str
    setting: str
    metrics: list[str]
    rows: list[Row]
    figures: list[tuple[str, str]] = field(default_factory=list)  # (cell id, path relative to DIR)
    #: (method, data source, metric) -> (low, high): 95% intervals (report.intervals)
    intervals: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)
    chance: str = ""  # the line on chance under the table (report.chance.chance_line)
    #: (data source, metric) -> the majority baseline's score (report.chance.chance_marks)
    chance_marks: dict[tuple[str, str], float] = field(default_factory=dict)
    paired: str = ""  # SSL rows against raw on the same bins (report.findings.paired_versus_raw)
    #: neural: the recording kinds of its records (reach, sleep, classes), which its metric
    #: definitions are given for (report.metric_definitions)
    kinds: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{TASK_TITLES.get(self.task, self.task)} — {self.setting}"


def stat_text(stat: Stat | None, ours: bool = False,
              interval: tuple[float, float] | None = None) -> str:
    """A value as tables and sentences print it: ours over several identical seeds says so
    rather than printing ± 0, and a bootstrap 95% interval over test samples is shown where
    there is one."""
    if stat is None:
        return ""
    same = ours and stat.n and stat.n > 1 and stat.std == 0
    if interval is not None:
        text = f"{stat.mean:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"
        return text + (f" (same for all {stat.n} seeds)" if same else "")
    if same:
        return f"{stat.mean:.3f} (same for all {stat.n} seeds)"
    return stat.format(3)


def value_text(table: LeaderboardTable, row: Row, key: str) -> str:
    """:func:`stat_text` of ``row``'s ``key`` in ``table`` (with our row's interval)."""
    ours = row.kind == OURS
    interval = table.intervals.get((row.method, row.data_source, key)) if ours else None
    return stat_text(row.values.get(key), ours, interval)


def _record_problem(record: Any) -> str | None:
    """Why a parsed cell record cannot be shown (``None``: it can)."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if record.get("schema_version") not in READABLE_SCHEMAS:
        return (f"schema_version {record.get('schema_version')!r} is not one this version reads "
                f"({', '.join(map(str, READABLE_SCHEMAS))})")
    if "cell" not in record and isinstance(record.get("task"), str):
        # a task command writes the same metrics.json as a cell, less the bench keys
        return f"a standalone `mtneuro {record['task']}` run's record, {STANDALONE_RUN}"
    cell = record.get("cell")
    if not isinstance(cell, dict) or not all(isinstance(cell.get(k), str)
                                             for k in ("id", "task", "setting", "method")):
        return "'cell' is not a mapping with id, task, setting and method"
    shaped = (isinstance(record.get("metrics"), dict)
              and isinstance(record.get("headline", {}), dict))
    if record.get("status") == "complete" and not shaped:
        return "a complete cell whose 'metrics' or 'headline' is not a mapping"
    return None


def load_records(out_dir: str | Path, unreadable: list[tuple[str, str]] | None = None,
                 left_out: list[str] | None = None) -> list[dict[str, Any]]:
    """Every readable cell record under ``out_dir/cells`` (sorted by cell id) but those
    :data:`SUITE_CELLS` lists as of an earlier suite, and those of its cells whose recorded
    definition (``cell``) is not the one it gives them.

    Records of schema versions 1 and 2 are read. One that is not valid JSON or not shaped
    like a cell record (damaged, or from another version) is left out, never misread; with
    ``unreadable``, each is appended to it as ``(path relative to out_dir, reason)``. With
    ``left_out``, the cell ids (folder names) of the records left out as not of the suite
    are appended to it (:func:`left_out_line` says why).
    """
    suite = read_suite_cells(out_dir)
    records = []
    for path in sorted(Path(out_dir).glob("cells/*/metrics.json")):
        where = path.relative_to(out_dir).as_posix()
        if suite is not None and path.parent.name in suite.earlier:
            if left_out is not None:
                left_out.append(path.parent.name)
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            problem: str | None = f"not readable JSON ({type(err).__name__}: {err})"
        else:
            problem = _record_problem(record)
        if problem is not None:
            if unreadable is not None:
                unreadable.append((where, problem))
            continue
        definition = suite.definitions.get(path.parent.name) if suite is not None else None
        if definition is not None and record["cell"] != definition:  # not rerun by it yet
            if left_out is not None:
                left_out.append(path.parent.name)
            continue
        record["_dir"] = path.parent.relative_to(out_dir).as_posix()
        records.append(record)
    return records


def row_card(records: list[dict[str, Any]]) -> RowCard:
    """The merged protocol cards of ``records`` (see :class:`RowCard`)."""
    card = RowCard()
    for record in records:
        protocol = record.get("protocol")
        if not isinstance(protocol, dict) or not isinstance(record.get("deviations"), list):
            card.missing += 1
            continue
        card.unchecked += protocol.get("name") == UNCHECKED
        name = f"{protocol.get('name')} v{protocol.get('version')}"
        card.protocols += [name] if name not in card.protocols else []
        card.deviations += [d for d in record["deviations"] if d not in card.deviations]
        # a record written before cards had notes has none
        card.notes += [n for n in record.get("notes") or [] if n not in card.notes]
    return card


def _ours(records: list[dict[str, Any]]) -> list[Row]:
    """Complete cells grouped by (method, data source); failed cells counted on their method's row."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failed: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        method = row_method(record)
        if record.get("status") == "complete":
            groups.setdefault((method, data_source_label(record)), []).append(record)
        else:
            failed.setdefault(method, []).append(record)
    for method in failed:
        if not any(m == method for m, _ in groups):  # a method with no complete cell still gets a row
            groups[(method, "none (failed before results)")] = []
    rows = []
    for (method, source), complete in groups.items():
        keys: list[str] = []
        for record in complete:
            keys += [k for k in record.get("headline", {}) if k not in keys]
        values = {}
        # a task command's multi-seed run is one cell holding each seed's headline
        headlines = [h for r in complete for h in r.get("seed_headlines") or [r["headline"]]]
        for key in keys:
            numbers = [h[key] for h in headlines if h.get(key) is not None]
            if numbers:
                values[key] = Stat.of(numbers)
        failures = failed.pop(method, [])  # counted once, on the method's first row
        chance = max(((r.get("metrics") or {}).get("r2_in_sample_chance") or 0.0
                      for r in complete),
                     default=0.0)  # task 3's: an in-sample R² this high says little
        rows.append(Row(OURS, method, source, values, n=len(headlines), failed=len(failures),
                        cells=[r["cell"]["id"] for r in complete + failures],
                        card=row_card(complete or failures),
                        note=IN_SAMPLE_CHANCE.format(chance) if chance >= 0.05 else ""))
    return rows


def build_tables(records: list[dict[str, Any]], *, published: bool = True) -> list[LeaderboardTable]:
    """One table per (task, setting) that has cells, ours first, then published rows."""
    by_setting: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        if record.get("status") == "skipped":  # never ran here: listed by skipped_cells, no row
            continue
        by_setting.setdefault((record["cell"]["task"], record["cell"]["setting"]), []).append(record)

    def order(key: tuple[str, str]) -> tuple[int, str]:
        task, setting = key
        return (TASK_ORDER.index(task) if task in TASK_ORDER else len(TASK_ORDER), f"{task}/{setting}")

    tables = []
    for task, setting in sorted(by_setting, key=order):
        members = by_setting[(task, setting)]
        rows = _ours(members)
        if published and not _own_files(members):
            subvolumes = setting in SUBVOLUME_SETTINGS and task in ("task1", "task3")
            rows += [Row(p.label, p.method_title, p.data, dict(p.metrics), run_here=p.run_here,
                         note="; ".join(n for n in (p.note, SUBVOLUME_NOTE if subvolumes else "") if n))
                     for p in published_rows(task, setting)]
        metrics: list[str] = []
        for row in rows:
            metrics += [k for k in row.values if k not in metrics]
        figures = [(r["cell"]["id"], f"{r['_dir']}/{f}") for r in members for f in r.get("figures", [])]
        kinds = [(r.get("metrics") or {}).get("kind") for r in members]
        tables.append(LeaderboardTable(task, setting, metrics, rows, figures,
                                       kinds=[k for k in dict.fromkeys(kinds) if k]))
    return tables


def _own_files(members: list[dict[str, Any]]) -> bool:
    """Runs of a user's recording file (named like a catalogued one, it gets none of its rows)."""
    return any(isinstance(r.get("source"), dict) and r["source"].get("catalogued") is False
               for r in members)


def failed_cells(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(cell id, one-line error) of every failed cell."""
    out = []
    for record in records:
        if record.get("status") == "failed":
            error = record.get("error") or {}
            out.append((record["cell"]["id"], f"{error.get('type', 'Error')}: {error.get('message', '')}"))
    return out


def skipped_cells(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(cell id, reason) of every cell that could not run here (its task raised
    :class:`~mtneuro.tasks.api.RunSkipped`, e.g. a recording not downloaded)."""
    return [(r["cell"]["id"], str(r.get("skip_reason", ""))) for r in records if r.get("status") == "skipped"]
