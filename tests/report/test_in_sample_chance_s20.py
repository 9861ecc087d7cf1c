"""A task-3 row whose in-sample fit reaches a high R² on noise (``r2_in_sample_chance``:
features / (crops - 1)) says so under its table, in report.html and leaderboard.md: the
published column is such an in-sample R², so beside it a reader needs that level (before:
only the `mtneuro task3` line said it; the report showed the number alone)."""

from __future__ import annotations

from pathlib import Path

from report_fixture import write_cell

from mtneuro.report.html import build_report

CHANCE_LINE = ("its in-sample R² (the published column) reaches about {} on a target its "
               "features say nothing about, with this many features and crops; its held-out "
               "R² says what the embedding knows")


def _task3_cell(out: Path, method: str, chance: float) -> None:
    headline = {"r2_cell_count": 0.8, "r2_test_cell_count": 0.1}
    write_cell(out, "task3", "roi-c1", method, 0, headline, lambda _: [],
               metrics={**headline, "r2_in_sample_chance": chance})


def test_a_task3_row_with_a_high_in_sample_chance_says_so(tmp_path: Path) -> None:
    _task3_cell(tmp_path, "myow", 0.71)   # 512 features on 720 crops
    _task3_cell(tmp_path, "pca", 0.011)   # 8 components: nothing to say
    paths = build_report(tmp_path)
    markdown = paths["markdown"].read_text()
    assert f"- myow (ours): {CHANCE_LINE.format('0.71')}" in markdown
    assert "pca (ours)" not in markdown and CHANCE_LINE.format("0.01") not in markdown
    page = paths["html"].read_text()
    assert CHANCE_LINE.format("0.71").replace("'", "&#x27;") in page
