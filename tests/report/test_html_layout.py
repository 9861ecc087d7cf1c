"""report.html's layout in its markup: a value never wraps mid-number, each table scrolls in
its own box, and the banner and key name only the kinds of row the page shows.

The browser measures the same at laptop and phone width in ``test_browser.py``; these
checks need no browser.
"""

from __future__ import annotations

import re

from report_fixture import write_cell

from mtneuro.report.html import build_report

RECORDING = {"source": "chewie-1", "label": "real recording chewie-1"}
# a value as the tables print it: a number with its ± std or [low, high], if any
VALUE = re.compile(r"-?\d\.\d{3}(?: ± \d\.\d{3}| \[-?\d\.\d{3}, -?\d\.\d{3}\])?")


def _banner(page: str) -> str:
    return page.split("<div class=banner>")[1].split("</div>")[0]


def _rule(page: str, selector: str) -> str:
    """The declarations of ``selector``'s rule in the page's style sheet."""
    rule = re.search(re.escape(selector) + r"\{([^}]*)\}", page)
    assert rule is not None, f"no {selector} rule in the page's style sheet"
    return rule.group(1)


def _tables(page: str) -> list[str]:
    return re.findall(r"<table>.*?</table>", page, flags=re.DOTALL)


def test_a_value_and_its_interval_or_std_sit_in_one_cell_that_never_wraps(tmp_path):
    interval = {"accuracy": {"low": 0.412, "high": 0.588}}
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [],
               metrics={"accuracy": 0.5, "intervals": interval})
    for seed in range(3):  # identical seeds: the row says so after its number
        write_cell(tmp_path, "task1", "roi-c1", "nmf", seed, {"accuracy": 0.6}, lambda d: [])
    write_cell(tmp_path, "task2", "2d-4class", "unet", 0, {"f1_avg": 0.7}, lambda d: [])
    page = build_report(tmp_path)["html"].read_text()
    assert "white-space:nowrap" in _rule(page, "td.v")
    assert "<td class=v>0.500 [0.412, 0.588]</td>" in page
    assert "<td class=v>0.600 (same for all 3 seeds)</td>" in page
    cells = [c for t in _tables(page) for c in re.findall(r"<td[^>]*>.*?</td>", t)]
    values = [c for c in cells if VALUE.search(c)]
    assert sum(" ± " in c for c in values) >= 4, values  # task 2's published rows print a std
    # every cell holding a value, ours or not, is a value cell, with nothing inside to wrap
    assert all(c.startswith("<td class=v>") and "<" not in c[12:-5] for c in values), values


def test_each_table_sits_in_its_own_sideways_scrolling_box(tmp_path):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    write_cell(tmp_path, "neural", "chewie-1", "raw", 0, {"accuracy": 0.6}, lambda d: [],
               source=RECORDING)
    page = build_report(tmp_path)["html"].read_text()
    assert "overflow-x:auto" in _rule(page, ".tw")
    assert len(_tables(page)) == 2
    assert page.count("<div class=tw><table>") == 2 and page.count("</table></div>") == 2


def test_a_neural_only_page_names_reference_code_runs_not_published_numbers(tmp_path):
    write_cell(tmp_path, "neural", "chewie-1", "raw", 0, {"accuracy": 0.6}, lambda d: [],
               source=RECORDING)
    page = build_report(tmp_path)["html"].read_text()
    assert "<tr class=run" in page and "<tr class=pub" not in page  # the page shows no published
    banner = _banner(page)
    assert "Runs of reference code appear in separate, labelled rows and chart panels." in banner
    assert "No published number is shown for these settings." in banner
    assert "ours (this run)" in banner and "reference code run here" in banner
    assert "published (not ours)" not in banner and "Published numbers" not in banner
    assert "published numbers" not in banner.replace("No published number is shown", "")


def test_a_page_without_runs_of_reference_code_does_not_key_them(tmp_path):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    page = build_report(tmp_path)["html"].read_text()
    assert "<tr class=pub" in page and "<tr class=run" not in page
    banner = _banner(page)
    assert "Published numbers appear in separate, labelled rows and chart panels." in banner
    assert "published (not ours)" in banner
    assert "reference code" not in banner
    # the phantom's caveat still stands before it
    assert banner.index("Numbers on the synthetic phantom") < banner.index("Published numbers")


def test_a_page_with_both_kinds_names_both_and_one_with_neither_says_every_row_is_ours(tmp_path):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    write_cell(tmp_path, "neural", "chewie-1", "raw", 0, {"accuracy": 0.6}, lambda d: [],
               source=RECORDING)
    both = _banner(build_report(tmp_path)["html"].read_text())
    assert "Published numbers and runs of reference code appear in separate" in both
    assert "published (not ours)" in both and "reference code run here" in both
    assert "No published number is shown" not in both
    alone = _banner(build_report(tmp_path, published=False)["html"].read_text())
    assert "No published numbers or runs of reference code are shown: every row is ours." in alone
    assert "ours (this run)" in alone
    assert "published (not ours)" not in alone and "reference code run here" not in alone
    assert "appear in separate" not in alone


def test_the_sources_section_cites_only_the_sources_of_rows_on_the_page(tmp_path) -> None:
    # a neural-only page cited the paper's table it does not show (report walkthrough)
    from report_fixture import write_cell

    from mtneuro.report.html import build_report

    neural = tmp_path / "neural"
    for seed in (0, 1):
        write_cell(neural, "neural", "chewie-1", "raw", seed,
                   {"accuracy": 0.6, "delta_accuracy": 0.8}, lambda d: [])
    page = build_report(neural)["html"].read_text()
    section = page.split("<h2>Sources of published numbers</h2>", 1)[1]
    assert "<b>reference code, run here</b>" in section
    assert "<b>paper, real volume</b>" not in section
    alone = tmp_path / "alone"
    write_cell(alone, "neural", "chewie-1", "raw", 0, {"accuracy": 0.6}, lambda d: [])
    assert "Sources of published numbers" not in build_report(alone, published=False)[
        "html"].read_text()
    task1 = tmp_path / "task1"
    write_cell(task1, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    assert "<b>paper, real volume</b>" in build_report(task1)["html"].read_text()
