"""Under each leaderboard table whose records carry ``metrics.majority``, the report (both
``leaderboard.md`` and ``report.html``) states the chance reference: the scores of always
predicting the most common training class. Records are written by hand with known
baselines, so each line has a known text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, load_records
from mtneuro.report.results import write_metrics

CHEWIE = {"source": "chewie-1", "label": "real recording chewie-1"}
MIHI = {"source": "mihi-1", "label": "real recording mihi-1"}
BOSSDB = {"source": "bossdb", "params": {}}
REACH_45 = {"class": "45°", "accuracy": 0.19, "delta_accuracy": 0.19}
REACH_90 = {"class": "90°", "accuracy": 0.25, "delta_accuracy": 0.5}
CLASS_LEAD = "always the most common training class"


def _cell(out: Path, task: str, setting: str, method: str, seed: int, source: dict,
          majority: dict[str, Any] | None, config: dict[str, Any] | None = None) -> None:
    cell = {"id": f"{task}-{setting}-{method}-s{seed}", "task": task, "setting": setting,
            "method": method, "seed": seed, "preset": "paper", "params": {},
            "source": source["source"], "source_params": {}, "encoder": None, "tag": None}
    extra = {"bench_schema_version": 1, "status": "complete", "cell": cell,
             "headline": {"accuracy": 0.6}, "inputs": {}, "figures": [], "error": None}
    metrics = {"accuracy": 0.6, **({"majority": majority} if majority is not None else {})}
    write_metrics(out / "cells" / cell["id"], task=task, metrics=metrics, source=source,
                  config=config or {"seed": seed}, extra=extra)


def _sections(out: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Markdown and HTML of each table (title -> its text up to the next table)."""
    paths = build_report(out)
    markdown = paths["markdown"].read_text().split("\n## ")[1:]
    page = paths["html"].read_text().split("<h2>")[1:]
    return ({part.split("\n")[0]: part for part in markdown},
            {part.split("</h2>")[0]: part for part in page})


def test_a_table_states_its_chance_line_and_one_without_baselines_has_none(tmp_path):
    _cell(tmp_path, "neural", "chewie-1", "myow", 0, CHEWIE, REACH_45)
    _cell(tmp_path, "neural", "chewie-1", "myow", 1, CHEWIE, REACH_45)  # same split: one line
    _cell(tmp_path, "neural", "chewie-1", "byol", 0, CHEWIE, None)  # an older record: left out
    _cell(tmp_path, "task1", "roi-c1", "supervised", 0, BOSSDB, None)  # an older run only
    markdown, page = _sections(tmp_path)
    line = f"Chance: {CLASS_LEAD} (45°): accuracy 0.190, delta_accuracy 0.190."
    neural = "Neural decoding (MYOW protocol) — chewie-1"
    task1 = "Task 1: brain-region classification (accuracy) — roi-c1"
    assert f"\n\n{line}\n\nProtocol cards of our rows:" in markdown[neural]
    assert markdown[neural].count("Chance:") == 1
    # under the table, after the sentence defining its metrics
    assert f"(33.75°).</p>\n<p class=note>{line}</p>" in page[neural]
    assert "Chance:" not in markdown[task1] and "Chance:" not in page[task1]


def test_task1_states_its_region_baseline(tmp_path):
    _cell(tmp_path, "task1", "roi-c1", "supervised", 0, BOSSDB,
          {"class": "CTX", "accuracy": 0.25})
    markdown, page = _sections(tmp_path)
    title = "Task 1: brain-region classification (accuracy) — roi-c1"
    md, html = markdown[title], page[title]
    line = "Chance: always the most common training region (CTX): accuracy 0.250."
    assert f"\n{line}\n" in md and f"<p class=note>{line}</p>" in html


def test_two_data_sources_list_each_baseline_with_its_source(tmp_path):
    _cell(tmp_path, "neural", "chewie-1", "myow", 0, CHEWIE, REACH_45)
    _cell(tmp_path, "neural", "chewie-1", "myow", 1, MIHI, REACH_90)
    markdown, page = _sections(tmp_path)
    title = "Neural decoding (MYOW protocol) — chewie-1"
    md, html = markdown[title], page[title]
    line = (f"Chance: on real recording chewie-1, {CLASS_LEAD} (45°): accuracy 0.190, "
            f"delta_accuracy 0.190; on real recording mihi-1, {CLASS_LEAD} (90°): "
            "accuracy 0.250, delta_accuracy 0.500.")
    assert f"\n{line}\n" in md and f"<p class=note>{line}</p>" in html


def test_splits_of_one_source_name_their_cells_and_seed_spread_is_stated(tmp_path):
    from mtneuro.report.chance import chance_line

    spread = {"class": "per seed: 0°, 45°", "accuracy": 0.2, "accuracy_std": 0.01,
              "delta_accuracy": 0.3, "delta_accuracy_std": 0.0}
    _cell(tmp_path, "neural", "chewie-1", "myow", 0, CHEWIE, REACH_45)
    _cell(tmp_path, "neural", "chewie-1", "myow", 1, CHEWIE, spread, {"seeds": [0, 1, 2]})
    records = load_records(tmp_path)
    (table,) = build_tables(records, published=False)
    assert chance_line(table, records) == (
        f"Chance: on real recording chewie-1 (cells neural-chewie-1-myow-s0), {CLASS_LEAD} "
        "(45°): accuracy 0.190, delta_accuracy 0.190; on real recording chewie-1 (cells "
        f"neural-chewie-1-myow-s1), {CLASS_LEAD} (per seed: 0°, 45°): accuracy 0.200 ± 0.010 "
        "over 3 seeds, delta_accuracy 0.300.")
