"""What :func:`mtneuro.evaluate` and :func:`mtneuro.load_results` return: :class:`Results`,
a sequence of task results with their leaderboard table (``.table()``, ``print``), and a
short ``repr`` and an HTML table for a notebook cell's last line (the dataclass's own repr
printed every number of every result: thousands of characters).

A top-level module beside :mod:`mtneuro.api`, which re-exports :class:`Results`.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mtneuro.report.intervals import table_intervals
from mtneuro.report.leaderboard import OURS, build_tables, metric_title
from mtneuro.report.run_records import cell_record
from mtneuro.stats import plus_minus
from mtneuro.tasks.api import Result

#: Our rows of the table a ``repr`` shows at most; ``print(results)`` shows every row.
REPR_ROWS = 12
#: Columns of :meth:`Results._repr_html_`: (heading, key of a :meth:`Results.table` row).
HTML_COLUMNS = (("task", "task"), ("setting", "setting"), ("method", "method"),
                ("metric", "title"), ("value", "value"), ("n", "n"), ("row", "kind"),
                ("data", "data"),
                ("comparable", "comparable"))


@dataclass(repr=False)  # the generated repr printed every number of every result
class Results(Sequence[Result]):
    """The results of :func:`~mtneuro.api.evaluate` or :func:`~mtneuro.api.load_results`, one
    per (task, setting, seed)."""

    results: list[Result]

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: Any) -> Any:
        """One :class:`Result` for an int; a :class:`Results` for a slice, so ``.table()``
        still works on a part."""
        if isinstance(index, slice):
            return Results(self.results[index])
        return self.results[index]

    def table(self, *, published: bool = True) -> list[dict[str, Any]]:
        """One row per task setting x method x headline metric: ours as mean +- std over
        seeds, with whether the run is comparable with the published protocol (its
        protocol card), then the published rows of the same settings, labelled by source
        (``published: paper, real volume``, ``reference code, run here``, ...).

        Returns:
            Rows with ``task``, ``setting``, ``method``, ``metric``, ``title``, ``mean``,
            ``std`` (``None`` for one value), ``n``, ``kind``, ``data``, ``comparable`` and
            ``interval``: ``(low, high)``, the bootstrap 95% interval over the test samples
            of the first seed, where the seeds do not vary the row (as the report shows it),
            else ``None``.
        """
        rows = []
        records = [cell_record(r) for r in self.results]
        for table in build_tables(records, published=published):
            intervals = table_intervals(table, records)
            for row in table.rows:
                ours = row.kind == OURS
                for key in table.metrics:
                    if key not in row.values:
                        continue
                    stat = row.values[key]
                    rows.append({
                        "task": table.task, "setting": table.setting, "method": row.method,
                        "metric": key, "title": metric_title(key), "mean": stat.mean,
                        "std": stat.std, "n": stat.n, "kind": row.label, "data": row.data_source,
                        "comparable": row.card.verdict if ours and row.card else "",
                        "interval": intervals.get((row.method, row.data_source, key)),
                    })
        return rows

    def __str__(self) -> str:
        """A line saying what ``n``, ``±`` and ``[low, high]`` are, then one per table row."""
        rows = self.table()
        return "\n".join([_key(rows), *(_line(r) for r in rows)]) if rows else ""

    def __repr__(self) -> str:
        """What ran, what its numbers are, then (up to :data:`REPR_ROWS`) our rows."""
        if not self.results:
            return "<Results: 0 runs>"
        rows = self.table(published=False)
        lines = [_line(r) for r in rows]
        left = len(lines) - REPR_ROWS
        more = f"{left} more row{'s' if left > 1 else ''} and " if left > 0 else ""
        return "\n".join([f"<Results: {self._runs()}>", *([_key(rows)] if rows else []),
                          *lines[:REPR_ROWS],
                          (f"({more}the published rows: print(results); as dicts: "
                           "results.table())")])

    def _repr_html_(self) -> str:
        """The table as HTML, for a notebook cell's last line."""
        table = self.table()
        rows = ["<tr>" + "".join(f"<th>{heading}</th>" for heading, _ in HTML_COLUMNS) + "</tr>"]
        for r in table:
            cells = {**r, "value": _value(r), "n": _n(r)}
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(cells[key]))}</td>"
                                         for _, key in HTML_COLUMNS) + "</tr>")
        key = f"<p>{html.escape(_key(table))}</p>" if table else ""
        return (f"<p>Results: {html.escape(self._runs())}</p>"
                f"<table>{''.join(rows)}</table>{key}")

    def _runs(self) -> str:
        """``"3 runs: task1/roi-c1 (seeds 0, 1), task3/roi-c1 (seed 0)"``."""
        seeds: dict[str, list[str]] = {}
        for result in self.results:
            found = [str(row["seed"]) for row in result.per_seed if "seed" in row]
            seeds.setdefault(f"{result.task}/{result.setting}", []).extend(found)
        named = [f"{name} (seed{'s' if len(s) > 1 else ''} {', '.join(s)})" if s else name
                 for name, s in seeds.items()]
        return f"{len(self.results)} run{'s' if len(self.results) != 1 else ''}" + (
            ": " + ", ".join(named) if named else "")


def _value(r: dict[str, Any]) -> str:
    """A table row's number as :meth:`Results.__str__` prints it."""
    # our std of 0 over several seeds says the seeds changed nothing, not "± 0.000"
    # (a published "± 0.00" is printed as published)
    value = (f"{r['mean']:.3f}" if r["std"] is None else
             f"{r['mean']:.3f} (identical over {r['n']} seeds)"
             if r["std"] == 0 and r["kind"] == OURS else plus_minus(r["mean"], r["std"]))
    if r["interval"] is not None:  # where seeds do not vary it, as the report shows
        value += " [{:.3f}, {:.3f}]".format(*r["interval"])
    return value


def _n(r: dict[str, Any]) -> str:
    """A row's number of seeds, as leaderboard.md's n column: ours and runs of reference code
    made here; a published row's is not known."""
    return "" if not r["n"] or r["kind"].startswith("published") else str(r["n"])


def _key(rows: list[dict[str, Any]]) -> str:
    """What the rows' ``n``, ``±`` and ``[low, high]`` are, in the words of the report (only
    those the rows show)."""
    parts = ["n: seeds"]
    if any(" ± " in _value(r) for r in rows):
        published = any(" ± " in _value(r) for r in rows if r["kind"].startswith("published"))
        parts.append("±: sample std over seeds (n - 1)"
                     + ("; published rows: as their source gives it" if published else ""))
    if any(r["interval"] is not None for r in rows):
        parts.append("[low, high]: bootstrap 95% interval over the first seed's test samples")
    return "key: " + "; ".join(parts)


def _line(r: dict[str, Any]) -> str:
    n = f"n={_n(r)}" if _n(r) else ""
    return (f"{r['task']}/{r['setting']:<10} {r['method']:<24} {r['title']:<28} "
            f"{_value(r):<20} {n:<4} [{r['kind']}; {r['data']}]"
            + (f" comparable: {r['comparable']}" if r["comparable"] else ""))
