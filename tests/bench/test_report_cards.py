"""The report says, beside every published row, whether our rows are comparable with it.

Records are written by hand (as bench cells write them) so each case has a known answer:
the protocol cards and their deviations, the sub-volume note of ROI-C2/C3, reference-code
runs made here kept apart from published numbers, and data-source labels of a cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.data.sources import open_source
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import build_tables, data_source_label, load_records
from mtneuro.report.results import write_metrics
from mtneuro.report.summary_chart import chart_series
from mtneuro.tasks.protocol import SUBVOLUME_NOTE, data_deviations

BOSSDB = {"source": "bossdb", "params": {}}


def _cell(out: Path, task: str, setting: str, method: str, seed: int, accuracy: float,
          source: dict, card: dict | None) -> None:
    cell = {"id": f"{task}-{setting}-{method}-s{seed}", "task": task, "setting": setting,
            "method": method, "seed": seed, "preset": "paper", "params": {}, "source": "bossdb",
            "source_params": {}, "encoder": None, "tag": None}
    extra = {**(card or {}), "bench_schema_version": 1, "status": "complete", "cell": cell,
             "headline": {"accuracy": accuracy}, "inputs": {}, "figures": [], "error": None}
    write_metrics(out / "cells" / cell["id"], task=task, metrics={"accuracy": accuracy},
                  source=source, extra=extra)


def _card(*deviations: str) -> dict:
    return {"protocol": {"name": "task1-paper", "version": 1}, "deviations": list(deviations)}


def test_rows_state_their_comparability_and_list_every_deviation(tmp_path):
    _cell(tmp_path, "task1", "roi-c2", "supervised", 0, 0.7, BOSSDB, _card(SUBVOLUME_NOTE))
    _cell(tmp_path, "task1", "roi-c2", "supervised", 1, 0.8, BOSSDB, _card(SUBVOLUME_NOTE))
    _cell(tmp_path, "task1", "roi-c2", "byol", 0, 0.6, BOSSDB,
          _card("probe head trained on crops", SUBVOLUME_NOTE))
    _cell(tmp_path, "task1", "roi-c2", "pca", 0, 0.3, BOSSDB, None)  # a record without a card
    _cell(tmp_path, "task1", "roi-c1", "supervised", 0, 0.9, BOSSDB, _card())
    tables = {t.setting: t for t in build_tables(load_records(tmp_path))}
    rows = {r.method: r for r in tables["roi-c2"].rows if r.kind == "ours"}
    assert rows["supervised"].card.verdict == "no: 1 deviation(s)"
    assert rows["byol"].card.deviations == ["probe head trained on crops", SUBVOLUME_NOTE]
    assert rows["pca"].card.verdict == "unknown: no protocol card"
    (c1,) = [r for r in tables["roi-c1"].rows if r.kind == "ours"]
    assert c1.card.verdict == "yes: published protocol"
    # the published ROI-C2 rows carry the sub-volume note; ROI-C1's do not
    assert all(SUBVOLUME_NOTE in r.note for r in tables["roi-c2"].rows if r.kind != "ours")
    assert not any(SUBVOLUME_NOTE in r.note for r in tables["roi-c1"].rows if r.kind != "ours")

    paths = build_report(tmp_path)
    page, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    for text in (page, markdown):
        assert "comparable with published?" in text
        assert "probe head trained on crops" in text
        assert "no: 2 deviation(s)" in text and "yes: published protocol" in text
        assert "unknown: no protocol card" in text
    assert markdown.count(SUBVOLUME_NOTE) >= 7 + 2  # beside 7 published rows and in 2 cards
    assert "without a protocol card" in markdown


def test_reference_code_runs_made_here_are_not_shown_as_published(tmp_path):
    card = {"protocol": {"name": "neural-reach", "version": 1}, "deviations": ["x"]}
    _cell(tmp_path, "neural", "chewie-1", "myow", 0, 0.7,
          {"source": "chewie-1", "label": "real recording chewie-1"}, card)
    (table,) = build_tables(load_records(tmp_path))
    run_here = [r for r in table.rows if r.kind != "ours"]
    assert run_here and all(r.run_here and r.kind == "reference code, run here" for r in run_here)
    paths = build_report(tmp_path)
    page, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    assert "reference code run in this project (not published, not ours" in page
    assert "published numbers (not ours" not in page  # no published neural rows
    assert "| MYOW (reference code) | reference code, run here |" in markdown
    assert "published: reference code, run here" not in markdown


@pytest.mark.parametrize(("upstream", "label"), [
    ("phantom", "phantom (synthetic volume), via local cache"),
    ("grid", "grid, via local cache"),
])
def test_a_cache_is_labelled_by_the_source_that_filled_it(tmp_path, upstream, label):
    if upstream == "phantom":  # a real cache, as `mtneuro data fetch` makes it
        described = open_source("cache", root=str(tmp_path / "c"), upstream="phantom",
                                upstream_params={"seed": 0}).describe()
    else:
        described = {"source": "cache", "params": {"root": "x"}, "upstream": {"source": "grid"}}
    assert data_source_label({"source": described}) == label
    _cell(tmp_path, "task1", "roi-c1", "pca", 0, 0.5, described, _card())
    (table,) = build_tables(load_records(tmp_path))
    ours = next(r for r in table.rows if r.kind == "ours")
    assert ours.data_source == label
    (series,) = [s for s in chart_series(table) if s.kind == "ours"]
    assert series.title == f"ours on {label}"  # the chart panel names the upstream, not "cache"
    if upstream == "phantom":
        banner = build_report(tmp_path)["html"].read_text().split("class=banner>")[1][:400]
        assert "phantom (synthetic volume), via local cache" in banner
        # the card judges the data by the upstream too
        assert data_deviations(described)[0].startswith("data: the synthetic phantom volume")
    assert data_source_label({"source": {"source": "cache", "params": {}}}).startswith("local cache")
