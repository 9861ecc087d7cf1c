"""The suite report: ``DIR/report.html`` (one static file, PNGs referenced relatively) and
``DIR/leaderboard.md``, rebuilt from the cell records alone (``mtneuro report DIR``).

For every task setting: the leaderboard table (our rows with mean ± std over seeds,
then the published rows, labelled), a bar chart of the first metric with published
values drawn hatched, and the figures the task cells saved. A banner names the data
sources present, and failed and skipped cells are listed with their errors / reasons.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from mtneuro.errors import DataError
from mtneuro.report.figures import plt, save_figure
from mtneuro.report.leaderboard import (
    OURS,
    LeaderboardTable,
    build_tables,
    failed_cells,
    load_records,
    metric_title,
    skipped_cells,
)
from mtneuro.report.published import Stat, published_sources

FIGURES_DIR = "report_figures"
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.pub td{background:#fafafa;color:#555;font-style:italic}
tr.sep td{background:#eee;font-weight:bold;text-align:left;font-style:normal}
.banner{background:#fff6d6;border:1px solid #e5c95f;padding:.6em 1em}
.fail{color:#a00}.figs img{max-width:360px;margin:.3em;border:1px solid #ddd}
.note{color:#666;font-size:.85em}
"""


def _cell(stat: Stat | None) -> str:
    return stat.format(3) if stat is not None else ""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def plot_table(table: LeaderboardTable, path: Path) -> Path | None:
    """Bar chart of the table's first metric: ours solid, published hatched, std as error bars."""
    if not table.metrics:
        return None
    key = table.metrics[0]
    rows = [r for r in table.rows if key in r.values]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(rows) + 2), 3.2))
    for i, row in enumerate(rows):
        stat = row.values[key]
        ours = row.kind == OURS
        ax.bar(i, stat.mean, yerr=stat.std or 0.0, capsize=3, color="#3b75af" if ours else "#dddddd",
               edgecolor="#333333", hatch="" if ours else "//")
    # The data source (first words) under every bar, so phantom bars never pass for real-volume ones.
    labels = [f"{r.method}\n(ours, {r.data_source.split(' (')[0]})" if r.kind == OURS else f"{r.method}\n({r.kind})"
              for r in rows]
    ax.set_xticks(range(len(rows)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(metric_title(key))
    ax.set_title(table.title, fontsize=9)
    return save_figure(fig, path)


def _markdown_table(table: LeaderboardTable) -> str:
    header = ["method", "rows", "data source", "n"] + [metric_title(k) for k in table.metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.rows:
        kind = "ours" if row.kind == OURS else f"published: {row.kind}"
        n = f"{row.n}" + (f" ({row.failed} failed)" if row.failed else "") if row.kind == OURS else ""
        cells = [row.method, kind, row.data_source, n] + [_cell(row.values.get(k)) for k in table.metrics]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = [f"- {r.method} ({r.kind}): {r.note}" for r in table.rows if r.note]
    return "\n".join([f"## {table.title}", "", *lines, "", *notes])


def write_markdown(tables: list[LeaderboardTable], failures: list[tuple[str, str]], path: Path,
                   skipped: list[tuple[str, str]] = ()) -> Path:
    intro = ("Rows marked *ours* are mean ± std over seeds of this run's cells; rows marked "
             "*published* are numbers from the cited sources, on the data they name.")
    parts = ["# mtneuro leaderboard", "", intro, ""]
    parts += [_markdown_table(t) + "\n" for t in tables]
    if failures:
        parts += ["## Failed cells", ""] + [f"- `{cid}`: {err}" for cid, err in failures]
    if skipped:
        parts += ["", "## Skipped cells", ""] + [f"- `{cid}`: {why}" for cid, why in skipped]
    path.write_text("\n".join(parts) + "\n")
    return path


def _html_table(table: LeaderboardTable) -> str:
    head = "".join(f"<th>{html.escape(metric_title(k))}</th>" for k in table.metrics)
    out = [f"<table><tr><th class=l>method</th><th class=l>data source</th><th>n</th>{head}</tr>"]
    shown_published = False
    for row in table.rows:
        ours = row.kind == OURS
        if not ours and not shown_published:
            out.append(f"<tr class=sep><td colspan={3 + len(table.metrics)}>published numbers "
                       "(not ours; labelled by source)</td></tr>")
            shown_published = True
        n = (f"{row.n}" + (f" <span class=fail>({row.failed} failed)</span>" if row.failed else "")) if ours else ""
        label = "" if ours else f" <span class=note>[{html.escape(row.kind)}]</span>"
        values = "".join(f"<td>{html.escape(_cell(row.values.get(k)))}</td>" for k in table.metrics)
        title = f' title="{html.escape(row.note)}"' if row.note else ""
        out.append(f"<tr class={'ours' if ours else 'pub'}{title}><td class=l>{html.escape(row.method)}{label}"
                   f"</td><td class=l>{html.escape(row.data_source)}</td><td>{n}</td>{values}</tr>")
    out.append("</table>")
    notes = [f"<li>{html.escape(r.method)} [{html.escape(r.kind)}]: {html.escape(r.note)}</li>"
             for r in table.rows if r.note]
    if notes:
        out.append(f"<ul class=note>{''.join(notes)}</ul>")
    return "\n".join(out)


def write_html(tables: list[LeaderboardTable], failures: list[tuple[str, str]], out_dir: Path,
               *, records: list[dict[str, Any]], skipped: list[tuple[str, str]] = ()) -> Path:
    sources = sorted({r.data_source for t in tables for r in t.rows if r.kind == OURS})
    header = (f"<h1>mtneuro benchmark report</h1><p class=note>{len(records)} cell(s) in "
              f"{html.escape(str(out_dir))}; built {time.strftime('%Y-%m-%d %H:%M:%S')}</p>")
    body = [header,
            "<div class=banner><b>Data sources of our rows:</b> " + html.escape(", ".join(sources) or "none")
            + ". Numbers on the synthetic phantom check the pipeline; they are not comparable with "
            "published real-volume numbers, which appear in separate, labelled rows.</div>"]
    for table in tables:
        body.append(f"<h2>{html.escape(table.title)}</h2>")
        body.append(_html_table(table))
        chart = plot_table(table, out_dir / FIGURES_DIR / f"{_safe(table.task + '-' + table.setting)}.png")
        images = [(chart.relative_to(out_dir).as_posix(), "leaderboard chart")] if chart else []
        images += [(rel, cid) for cid, rel in table.figures]
        if images:
            body.append("<div class=figs>" + "".join(
                f'<a href="{html.escape(src)}"><img src="{html.escape(src)}" alt="{html.escape(alt)}" '
                f'title="{html.escape(alt)}"></a>' for src, alt in images) + "</div>")
    if failures:
        body.append("<h2>Failed cells</h2><ul>" + "".join(
            f"<li><code>{html.escape(cid)}</code>: <span class=fail>{html.escape(err)}</span></li>"
            for cid, err in failures) + "</ul>")
    if skipped:
        body.append("<h2>Skipped cells</h2><ul>" + "".join(
            f"<li><code>{html.escape(cid)}</code>: {html.escape(why)}</li>" for cid, why in skipped) + "</ul>")
    cites = "".join(f"<li><b>{html.escape(s['label'])}</b>: {html.escape(s['citation'])} "
                    f"(<a href=\"{html.escape(s['url'])}\">{html.escape(s['url'])}</a>); "
                    f"{html.escape(s.get('detail', ''))}</li>" for s in published_sources().values())
    body.append(f"<h2>Sources of published numbers</h2><ul class=note>{cites}</ul>")
    page = (f"<!DOCTYPE html><html><head><meta charset=utf-8><title>mtneuro report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def build_report(out_dir: str | Path, *, published: bool = True) -> dict[str, Path]:
    """Rebuild ``report.html`` and ``leaderboard.md`` of a suite directory from its cell records.

    Returns:
        ``{"html": path, "markdown": path}``.
    """
    out = Path(out_dir)
    records = load_records(out)
    if not records:
        raise DataError(f"{out}: no cell records (cells/<id>/metrics.json); run `mtneuro bench --out {out}` first")
    tables = build_tables(records, published=published)
    failures, skipped = failed_cells(records), skipped_cells(records)
    return {"html": write_html(tables, failures, out, records=records, skipped=skipped),
            "markdown": write_markdown(tables, failures, out / "leaderboard.md", skipped)}
