"""The shipped published numbers equal the tables of ../shared/reference/protocols.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtneuro.report.published import Stat, load_published, published_rows

PROTOCOLS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "protocols.md"
TASK1_SETTINGS = ("roi-c1", "roi-c2", "roi-c3")
TASK3_KEYS = ("r2_vessel_fraction", "r2_axon_fraction", "r2_cell_count", "r2_cell_size", "r2_nn_distance")


@pytest.fixture(scope="module")
def protocols() -> str:
    if not PROTOCOLS.is_file():
        pytest.skip(f"reference protocols not found at {PROTOCOLS}")
    return PROTOCOLS.read_text()


def _stat(text: str) -> Stat:
    parts = [float(p) for p in text.split("±")]
    return Stat(parts[0], parts[1] if len(parts) > 1 else None)


def _section(text: str, start: str, end: str) -> list[list[str]]:
    """Data rows of the markdown tables between two headings/lines."""
    body = text[text.index(start):text.index(end, text.index(start))]
    rows = []
    for line in body.splitlines():
        if line.startswith("| ") and not line.startswith("| Method") and "---" not in line:
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _published(task: str, setting: str, title: str, source: str = "mtneuro-site"):
    (row,) = [r for r in published_rows(task, setting) if r.method_title == title and r.source == source]
    return row


def _same(stat: Stat, expected: Stat) -> bool:
    return stat.mean == pytest.approx(expected.mean) and (
        (stat.std is None and expected.std is None) or stat.std == pytest.approx(expected.std))


def test_task1_table(protocols):
    rows = _section(protocols, "### B.1", "(Note:")
    assert len(rows) == 7
    for title, *values in rows:
        for setting, value in zip(TASK1_SETTINGS, values):
            assert _same(_published("task1", setting, title).metrics["accuracy"], _stat(value)), (title, setting)


def test_task2_tables(protocols):
    classes3 = ("background+axon", "vessel", "cell")
    classes4 = ("background", "vessel", "cell", "axon")
    rows = _section(protocols, "### B.2", "(Order of the per-class")
    assert len(rows) == 18
    for method, metric, *values in rows:
        dim = "3d" if method in ("3D U-Net", "VNetLight", "HighResNet") else "2d"
        key = metric.lower()
        for setting, classes, chunk in ((f"{dim}-3class", classes3, values[:4]),
                                        (f"{dim}-4class", classes4, values[4:])):
            published = _published("task2", setting, method).metrics
            for name, value in zip(classes, chunk):
                assert _same(published[f"{key}_{name}"], _stat(value)), (method, setting, name)
            assert _same(published[f"{key}_avg"], _stat(chunk[-1])), (method, setting)


def test_task3_tables(protocols):
    c1 = _section(protocols, "single subvolume (ROI-C1)", "two subvolumes (ROI-C3)")
    c3 = _section(protocols, "two subvolumes (ROI-C3)", "Cross-check")
    assert len(c1) == len(c3) == 7
    for setting, rows in (("roi-c1", c1), ("roi-c3", c3)):
        for title, *values in rows:
            published = _published("task3", setting, title).metrics
            for key, value in zip(TASK3_KEYS, values):
                assert _same(published[key], _stat(value)), (title, setting, key)


def test_neural_reference_code_numbers(protocols):
    mouse = _published("neural", "mouse-ca1", "MYOW (reference code)", "myow-reference-code")
    assert "0.907 / 0.898" in protocols and "0.908 / 0.899" in protocols
    assert mouse.metrics["accuracy"].mean == pytest.approx((0.907 + 0.898) / 2)
    assert mouse.metrics["accuracy"].n == 2 and mouse.label == "reference code, run here"
    assert mouse.run_here
    monkey = _published("neural", "chewie-1", "MYOW (reference code)", "myow-reference-code")
    assert re.search(r"0\.696 / 0\.835 and 0\.734 / 0\.823", protocols)
    assert monkey.metrics["delta_accuracy"].mean == pytest.approx((0.835 + 0.823) / 2)


def test_every_row_is_labelled_with_its_source():
    rows = load_published()
    assert {r.label for r in rows} == {"paper, real volume", "reference code",
                                       "reference code, run here"}
    # numbers measured here by running the reference code are flagged, and only those
    assert {r.source for r in rows if r.run_here} == {"myow-reference-code",
                                                      "myow-reference-code-paired"}
    assert all(r.label == "reference code, run here" for r in rows if r.run_here)
    assert all(r.citation and r.data for r in rows)
    assert {r.task for r in rows} == {"task1", "task2", "task3", "neural"}
