"""The suite report: ``DIR/report.html`` (one self-contained file: every image embedded)
and ``DIR/leaderboard.md``, rebuilt from the cell records alone (``mtneuro report DIR``), or
from the record of one task command's run where DIR is its folder.

For every task setting: the leaderboard table (our rows with mean ± std over seeds,
then the published rows, labelled, then reference-code runs made here, labelled so),
whether each of our rows is comparable with them and, below the table, the chance line
(:mod:`mtneuro.report.chance`), its protocol card (every deviation from the published
protocol), the summary chart
(:mod:`mtneuro.report.summary_chart`: ours and published in separate, labelled panels)
and the figures the task cells saved. A banner names the data sources present, and
failed and skipped cells are listed with their errors / reasons.

Images are PNG data URIs, so the page keeps them when copied alone. Each is shown at
:data:`~mtneuro.report.figures.THUMB_PX_PER_INCH` pixels per inch (its text stays
readable, see :mod:`mtneuro.report.figures`); on a screen narrower than that, the figure
scrolls sideways in its own box, as a table does, rather than shrinking its text. A click
opens it full size in a CSS ``:target`` overlay (no script, no network).
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from mtneuro.atomic import write_atomic
from mtneuro.errors import DataError
from mtneuro.report.chance import chance_line, chance_marks
from mtneuro.report.embed import figure_html
from mtneuro.report.findings import paired_versus_raw, ssl_versus_raw
from mtneuro.report.intervals import table_intervals
from mtneuro.report.leaderboard import (
    OURS,
    VOLUME_SOURCES,
    LeaderboardTable,
    Row,
    build_tables,
    failed_cells,
    load_records,
    metric_title,
    skipped_cells,
    value_text,
)
from mtneuro.report.metric_definitions import metric_definitions
from mtneuro.report.no_report import no_records_message
from mtneuro.report.published import published_sources
from mtneuro.report.run_records import load_run_record, run_line
from mtneuro.report.suite_cells import left_out_line
from mtneuro.report.summary_chart import Intervals, plot_summary, row_kind
from mtneuro.tasks.protocol import NOTES_HEAD

FIGURES_DIR = "report_figures"
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right;overflow-wrap:break-word}
.tw{overflow-x:auto;max-width:100%}td.v{white-space:nowrap}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.pub td{background:#f4f4f4;color:#555;font-style:italic}
tr.run td{background:#fff4e5;color:#6b4510;font-style:italic}
tr.sep td{background:#e6e6e6;font-weight:bold;text-align:left;font-style:normal}
li,p,figcaption,.banner{overflow-wrap:anywhere}
.banner{background:#fff6d6;border:1px solid #e5c95f;padding:.6em 1em}
.key{display:inline-block;width:1.4em;height:.9em;border:1px solid #333;vertical-align:middle}
.fail{color:#a00}.note{color:#666;font-size:.85em}.card{font-size:.85em}
.figs{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
figure.fig{margin:0;max-width:100%;overflow-x:auto}
figure.fig img{display:block;box-sizing:border-box;max-width:none;height:auto;border:1px solid #ddd;background:#fff}
figure.fig figcaption{font-size:.8em;color:#555}
figure.fig .close{display:none}
figure.fig:target{position:fixed;inset:0;z-index:10;margin:0;padding:2.5em 1em 1em;width:auto!important;
  max-width:none;overflow:auto;background:#1e1e1e}
figure.fig:target img{width:auto;max-width:none}
figure.fig:target figcaption{color:#eee;font-size:1em}
figure.fig:target .close{display:block;position:fixed;top:.6em;right:1.2em;color:#fff}
"""
_KEY = {
    OURS: ("#3b75af", "ours (this run)"),
    "published": ("repeating-linear-gradient(45deg,#dcdcdc 0 3px,#444 3px 4px)",
                  "published (not ours)"),
    "run-here": ("repeating-linear-gradient(45deg,#fde3c4 0 3px,#9a5b13 3px 4px)",
                 "reference code run here (not ours, not published)"),
}
# how the banner names the rows that are not ours, in the order the tables show them
_OTHERS = {"published": "published numbers", "run-here": "runs of reference code"}


def _key(kinds: set[str]) -> str:
    """The colour key of the kinds of row the page shows (no entry for an absent kind)."""
    return " · ".join(f"<span class=key style='background:{style}'></span> {text}"
                      for kind, (style, text) in _KEY.items() if kind in kinds)


def _others_text(kinds: set[str], on_phantom: bool) -> str:
    """The banner's sentences on rows that are not ours: only the kinds present are named."""
    phantom = ("Numbers on the synthetic phantom check the pipeline; they are not comparable "
               "with published real-volume numbers. " if on_phantom else "")
    names = [name for kind, name in _OTHERS.items() if kind in kinds]
    if not names:
        return (f"{phantom}No published numbers or runs of reference code are shown: "
                "every row is ours.")
    shown = " and ".join(names)
    absent = "" if "published" in kinds else " No published number is shown for these settings."
    runs = (" Runs of reference code are mean ± sample standard deviation (n - 1) over the n "
            "seeds beside them." if "run-here" in kinds else "")
    return (f"{phantom}{shown[0].upper() + shown[1:]} appear in separate, labelled rows and "
            f"chart panels.{absent}{runs}")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _card_notes(table: LeaderboardTable) -> list[tuple[str, str, list[str], list[str]]]:
    """(row title, protocols, deviations, notes) of our rows, for the text under a table."""
    out = []
    for row in table.rows:
        if row.kind != OURS or row.card is None:
            continue
        title = f"{row.method} ({row.data_source})"
        protocols = ", ".join(row.card.protocols) or "none"
        lines = list(row.card.deviations)
        if row.card.missing:
            lines.append(f"{row.card.missing} cell(s) without a protocol card (written before "
                         "cards existed): comparability unknown")
        out.append((title, protocols, lines, list(row.card.notes)))
    return out


def _markdown_cell(text: str) -> str:
    """A table cell: a ``|`` would end it and a line break would end the row."""
    return " ".join(text.replace("|", "\\|").split())


def _runs(row: Row) -> str:
    """The n of a reference-code row run here (its seeds; a published row's is unknown)."""
    return "" if row.seeds_n is None else str(row.seeds_n)


def _markdown_table(table: LeaderboardTable) -> str:
    header = (["method", "rows", "data source", "n", "comparable with published?"]
              + [metric_title(k) for k in table.metrics])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.rows:
        ours = row.kind == OURS
        n = f"{row.n}" + (f" ({row.failed} failed)" if row.failed else "") if ours else _runs(row)
        verdict = row.card.verdict if ours and row.card else ""
        cells = ([row.method, row.label, row.data_source, n, verdict]
                 + [value_text(table, row, k) for k in table.metrics])
        lines.append("| " + " | ".join(_markdown_cell(c) for c in cells) + " |")
    cards = []
    for title, protocols, deviations, card_notes in _card_notes(table):
        cards.append(f"- {title}: protocol {protocols}; "
                     + ("published protocol, comparable" if not deviations else "deviations:"))
        cards += [f"  - {d}" for d in deviations]
        # a paragraph of the row's item (blank line, indented): not one more deviation
        cards += ["", f"  {NOTES_HEAD}", *[f"  - {n}" for n in card_notes]] if card_notes else []
    notes = [f"- {r.method} ({r.kind}): {r.note}" for r in table.rows if r.note]
    defined = metric_definitions(table.task, table.metrics, table.kinds)
    chance = [*([defined, ""] if defined else []), *([table.chance, ""] if table.chance else [])]
    return "\n".join([f"## {table.title}", "", *lines, "", *chance, "Protocol cards of our rows:",
                      "", *cards, "", *notes])


def write_markdown(tables: list[LeaderboardTable], failures: list[tuple[str, str]], path: Path,
                   skipped: list[tuple[str, str]] = (), note: str = "") -> Path:
    """Write the leaderboard (``note``: a line under the intro, e.g. records left out)."""
    intro = ("Rows marked *ours* are mean ± sample standard deviation (n - 1) over seeds of "
             "this run's cells (or, where seeds did not vary a value, the value and [low, high], "
             "a percentile bootstrap 95% interval over the first seed's test samples: tiles, "
             "images, 8-slice blocks, trials or bins, their number in each cell's "
             "metrics.json); rows marked "
             "*published* are numbers from the cited sources, on the data they name (printed to "
             "three decimals, as ours; the sources mostly print two); rows marked "
             "*reference code, run here* were measured in this project by running the authors' "
             "code (mean ± sample standard deviation, n - 1, over the n seeds beside them). "
             "Whether each of our rows is comparable with them comes from its cells' "
             "protocol cards, listed under each table with every deviation.")
    parts = ["# mtneuro leaderboard", "", intro, ""] + ([note[0].upper() + note[1:] + ".", ""]
                                                       if note else [])
    for table in tables:
        finding = ssl_versus_raw(table)
        parts += [_markdown_table(table) + "\n"] + ([f"**Self-supervised vs raw rates.** {finding}\n"]
                                                     if finding else [])
        parts += [f"{table.paired}\n"] if table.paired else []
    if failures:
        parts += ["## Failed cells", ""] + [f"- `{cid}`: {err}" for cid, err in failures]
    if skipped:
        parts += ["", "## Skipped cells", ""] + [f"- `{cid}`: {why}" for cid, why in skipped]
    return write_atomic(path, ("\n".join(parts) + "\n").encode())


_SEPARATORS = {"published": "published numbers (not ours; labelled by source)",
               "run-here": "reference code run in this project (not published, not ours; "
                           "labelled so)"}


def _html_table(table: LeaderboardTable) -> str:
    head = "".join(f"<th>{html.escape(metric_title(k))}</th>" for k in table.metrics)
    # a wide table scrolls in its own box: the page keeps the viewport's width
    out = [("<div class=tw><table><tr><th class=l>method</th><th class=l>data source</th>"
            f"<th>n</th><th class=l>comparable with published?</th>{head}</tr>")]
    section = OURS
    for row in table.rows:
        ours = row.kind == OURS
        kind = row_kind(row)
        if kind != section:
            out.append(f"<tr class=sep><td colspan={4 + len(table.metrics)}>{_SEPARATORS[kind]}"
                       "</td></tr>")
            section = kind
        failed = f" <span class=fail>({row.failed} failed)</span>" if row.failed else ""
        n = f"{row.n}{failed}" if ours else _runs(row)
        verdict = html.escape(row.card.verdict) if ours and row.card else ""
        label = "" if ours else f" <span class=note>[{html.escape(row.kind)}]</span>"
        # a value never wraps, not even between a number and its ± or [low, high]: a table
        # too wide for the page scrolls in its box instead
        values = "".join(f"<td class=v>{html.escape(value_text(table, row, k))}</td>"
                         for k in table.metrics)
        title = f' title="{html.escape(row.note)}"' if row.note else ""
        css = {OURS: "ours", "published": "pub", "run-here": "run"}[kind]
        out.append(f"<tr class={css}{title}><td class=l>{html.escape(row.method)}{label}"
                   f"</td><td class=l>{html.escape(row.data_source)}</td><td>{n}</td>"
                   f"<td class=l>{verdict}</td>{values}</tr>")
    out.append("</table></div>")
    defined = metric_definitions(table.task, table.metrics, table.kinds)
    if defined:
        out.append(f"<p class=note>{html.escape(defined)}</p>")
    if table.chance:
        out.append(f"<p class=note>{html.escape(table.chance)}</p>")
    cards = []
    for title, protocols, deviations, card_notes in _card_notes(table):
        items = "".join(f"<li>{html.escape(d)}</li>" for d in deviations)
        verdict = "published protocol, comparable" if not deviations else "deviations:"
        noted = "".join(f"<li>{html.escape(n)}</li>" for n in card_notes)
        cards.append(f"<li><b>{html.escape(title)}</b>: protocol {html.escape(protocols)}; "
                     f"{verdict}{f'<ul>{items}</ul>' if items else ''}"
                     f"{f'{NOTES_HEAD}<ul>{noted}</ul>' if noted else ''}</li>")
    if cards:
        count = sum(len(d) for _, _, d, _ in _card_notes(table))
        out.append(f"<details><summary class=note>Protocol cards of our rows ({count} deviation(s) "
                   f"from the published protocol in all; click to open)</summary><ul class=card>"
                   f"{''.join(cards)}</ul></details>")
    notes = [f"<li>{html.escape(r.method)} [{html.escape(r.kind)}]: {html.escape(r.note)}</li>"
             for r in table.rows if r.note]
    if notes:
        out.append(f"<ul class=note>{''.join(notes)}</ul>")
    return "\n".join(out)


def _figure_caption(table: LeaderboardTable, cell_id: str, rel: str, seed: Any) -> str:
    """``"<cell id>: <file>"`` and the cell's seed; where the cell's row aggregates several
    seeds, that this figure draws one of them (its title, drawn when the cell ran, cannot).
    A file in a subfolder (a task run's ``seed-<S>/``) is named with that folder."""
    path = Path(rel)
    inner = f"{path.parent.name}/" if path.parent.name not in ("", cell_id) else ""
    caption = f"{cell_id}: {inner}{path.name}"
    if seed is None:
        return caption
    row = next((r for r in table.rows if r.kind == OURS and cell_id in r.cells), None)
    if row is None or row.n <= 1:
        return f"{caption}, seed {seed}"
    return (f"{caption}, seed {seed} only: one of the n={row.n} seeds of row "
            f"{row.method} on {row.data_source}")


def _figures(table: LeaderboardTable, out_dir: Path, start: int,
             intervals: Intervals | None, seeds: dict[str, Any]) -> list[str]:
    """HTML of the table's summary chart and its cells' figures, numbered from ``start``
    (``seeds``: cell id -> its seed)."""
    chart = plot_summary(table, out_dir / FIGURES_DIR / f"{_safe(table.task + '-' + table.setting)}.png",
                         intervals=table.intervals if intervals is None else intervals,
                         chance=table.chance_marks)
    images = [(chart, f"summary chart: {table.title}")] if chart else []
    images += [(out_dir / rel, _figure_caption(table, cid, rel, seeds.get(cid)))
               for cid, rel in table.figures]
    return [figure_html(path, caption, f"fig{start + i}") for i, (path, caption) in enumerate(images)]


def write_html(tables: list[LeaderboardTable], failures: list[tuple[str, str]], out_dir: Path,
               *, records: list[dict[str, Any]], intervals: Intervals | None = None,
               skipped: list[tuple[str, str]] = (), note: str = "") -> Path:
    """Write ``out_dir/report.html`` (self-contained) and its summary charts.

    Args:
        intervals: optional 95% intervals per (method, data source, metric) for the charts
            (:func:`mtneuro.report.summary_chart.plot_summary`).
        skipped: ``(cell id, reason)`` of cells that could not run here (e.g. data absent).
        note: a line under the header (e.g. records left out,
            :func:`~mtneuro.report.suite_cells.left_out_line`).
    """
    sources = sorted({r.data_source for t in tables for r in t.rows if r.kind == OURS})
    header = (f"<h1>mtneuro benchmark report</h1><p class=note>{len(records)} cell(s) in "
              f"{html.escape(str(out_dir))}; built {time.strftime('%Y-%m-%d %H:%M:%S')}. "
              "Every image is embedded: this file can be copied alone. Click a figure to open "
              "it full size.</p>"
              + (f"<p class=note>{html.escape(note[0].upper() + note[1:])}.</p>" if note else ""))
    on_phantom = any(VOLUME_SOURCES["phantom"] in s for s in sources)
    kinds = {row_kind(r) for t in tables for r in t.rows}
    body = [header,
            "<div class=banner><b>Data sources of our rows:</b> " + html.escape(", ".join(sources) or "none")
            + f". {_others_text(kinds, on_phantom)} Each of our rows says whether it is "
            "comparable with the published protocol; its protocol card "
            "below the table lists every deviation from it. Our error bars "
            "(± sample standard deviation, n - 1) appear only where several seeds gave different "
            "numbers (n is printed beside each row); where they did not (one seed, or "
            "identical results), values and bars show "
            "[low, high], a bootstrap 95% interval over the test samples (tiles, images, 8-slice "
            f"blocks, trials, or blocks of sleep bins) of the first seed.<br>{_key(kinds)}</div>"]
    seeds = {r["cell"]["id"]: r["cell"].get("seed") for r in records}
    count = 0
    for table in tables:
        body.append(f"<h2>{html.escape(table.title)}</h2>")
        body.append(_html_table(table))
        finding = ssl_versus_raw(table)
        if finding:
            body.append(f"<p class=note><b>Self-supervised vs raw rates.</b> {html.escape(finding)}</p>")
        if table.paired:
            body.append(f"<p class=note>{html.escape(table.paired)}</p>")
        figures = _figures(table, out_dir, count, intervals, seeds)
        count += len(figures)
        if figures:
            body.append("<div class=figs>" + "".join(figures) + "</div>")
    if failures:
        body.append("<h2>Failed cells</h2><ul>" + "".join(
            f"<li><code>{html.escape(cid)}</code>: <span class=fail>{html.escape(err)}</span></li>"
            for cid, err in failures) + "</ul>")
    if skipped:
        body.append("<h2>Skipped cells</h2><ul>" + "".join(
            f"<li><code>{html.escape(cid)}</code>: {html.escape(why)}</li>" for cid, why in skipped) + "</ul>")
    # the sources of the rows on this page only (a neural page cites no paper table)
    shown = {r.kind for t in tables for r in t.rows if r.kind != OURS}
    cites = "".join(f"<li><b>{html.escape(s['label'])}</b>: {html.escape(s['citation'])} "
                    f"(<a href=\"{html.escape(s['url'])}\">{html.escape(s['url'])}</a>); "
                    f"{html.escape(s.get('detail', ''))}</li>"
                    for s in published_sources().values() if s["label"] in shown)
    if cites:
        body.append(f"<h2>Sources of published numbers</h2><ul class=note>{cites}</ul>")
    page = (f"<!DOCTYPE html><html><head><meta charset=utf-8><title>mtneuro report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")
    # a full disk or Ctrl-C mid-write keeps the previous report whole
    return write_atomic(out_dir / "report.html", page.encode("utf-8"))


def build_report(out_dir: str | Path, *, published: bool = True,
                 intervals: Intervals | None = None,
                 unreadable: list[tuple[str, str]] | None = None,
                 left_out: list[str] | None = None) -> dict[str, Path]:
    """Rebuild ``report.html`` and ``leaderboard.md`` of a suite directory from its cell records,
    or of a task command's run folder (no ``cells/``) from its ``metrics.json``
    (:func:`~mtneuro.report.run_records.load_run_record`).

    Args:
        intervals: optional 95% intervals for the summary charts (see :func:`write_html`).
        unreadable: receives ``(record path, reason)`` of each cell record that could not
            be read; both reports list them with the failed cells.
        left_out: receives the ids of records in cells/ that are not cells of the suite
            last run in the directory (``suite_cells.json``), or that it defines otherwise
            and has not rerun yet; both reports say so in a line.

    Returns:
        ``{"html": path, "markdown": path}``.
    """
    out = Path(out_dir)
    unreadable = [] if unreadable is None else unreadable
    left_out = [] if left_out is None else left_out
    # as load_results reads a folder: with cells/ a suite's, else its metrics.json one run's
    run = not (out / "cells").is_dir() and (out / "metrics.json").is_file()
    try:
        records = [load_run_record(out)] if run else load_records(out, unreadable, left_out)
    except DataError as err:  # the run's record is none to report
        raise DataError(no_records_message(out, unreadable, str(err))) from None
    if not records:
        raise DataError(no_records_message(out, unreadable))
    tables = build_tables(records, published=published)
    cell_dirs = {r["cell"]["id"]: out / r["_dir"] for r in records if not run}
    for table in tables:
        table.intervals = table_intervals(table, records)
        table.chance = chance_line(table, records)
        table.chance_marks = chance_marks(table, records)
        table.paired = paired_versus_raw(table, lambda row: [cell_dirs[c] for c in row.cells
                                                             if c in cell_dirs])
    failures = failed_cells(records) + [(where, f"unreadable record: {why}")
                                        for where, why in unreadable]
    skipped = skipped_cells(records)
    note = run_line(records[0]) if run else left_out_line(out, left_out)
    return {"html": write_html(tables, failures, out, records=records, intervals=intervals,
                               skipped=skipped, note=note),
            "markdown": write_markdown(tables, failures, out / "leaderboard.md", skipped, note)}
