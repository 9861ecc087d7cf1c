"""report.html as a real browser shows it: headless Chromium, offline, the file copied alone.

Needs the system Chromium (Debian package ``chromium``) and the ``playwright`` package
(``[test]`` extra). Where either is missing the test skips on a developer machine, and
fails in CI (``CI`` set), where ``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest
from PIL import Image
from report_browser import (
    PHONE_VIEWPORT,
    SCREENSHOT,
    VIEWPORT,
    chromium_path,
    render_report,
    smallest_text_px,
)

from mtneuro.report.figures import MIN_TEXT_PX


@pytest.fixture(scope="session")
def browser() -> None:
    """Skips (developer machine) or fails (CI) before the report is built where no browser is."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[test]')")
    if chromium_path() is None:
        missing.append("a chromium executable (apt-get install chromium, or set MTNEURO_CHROMIUM)")
    if missing:
        reason = "browser check needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI: .ci/run installs chromium)")
        pytest.skip(reason)


def test_report_renders_offline_with_every_image_and_no_overflowing_text(
    browser, suite_report, tmp_path
):
    alone = tmp_path / "copied" / "report.html"
    alone.parent.mkdir()
    shutil.copy(suite_report, alone)
    measured = render_report(alone, alone.parent / SCREENSHOT, open_figure="fig0")

    assert measured["requests"] == [] and measured["console_errors"] == []
    images = measured["images"]
    assert len(images) == 4 + 4 * 2 + 2 + 1 + 1  # charts; task1 x4 cells, task2, task3, neural
    assert all(i["complete"] and i["naturalWidth"] > 0 for i in images), images
    assert measured["overflows"] == []
    assert measured["pageScrollWidth"] <= measured["pageClientWidth"]  # no sideways scrolling
    # a value and its ± or [low, high] stay on one line: a table too wide scrolls instead
    assert measured["brokenValues"] == []
    assert all(t["inScrollBox"] for t in measured["tables"]), measured["tables"]
    # every figure's smallest text, as shown on the page, is readable
    sizes = {i["alt"]: smallest_text_px(i) for i in images}
    assert min(sizes.values()) >= MIN_TEXT_PX, sorted(sizes.items(), key=lambda kv: kv[1])[:3]
    # a click opens the figure full size in an overlay, and the close link shuts it
    opened = measured["opened"]
    assert opened["target"] and opened["position"] == "fixed"
    assert opened["shownWidth"] == opened["naturalWidth"]
    assert measured["closed"]
    # the first screen is kept beside the report
    with Image.open(alone.parent / SCREENSHOT) as shot:
        assert shot.size == (VIEWPORT["width"], VIEWPORT["height"])


def test_at_phone_width_each_table_scrolls_in_its_own_box_and_the_page_does_not(
    browser, suite_report
):
    measured = render_report(suite_report, viewport=PHONE_VIEWPORT)

    width = PHONE_VIEWPORT["width"]
    assert measured["pageClientWidth"] == width
    assert measured["pageScrollWidth"] <= width  # the page does not scroll sideways
    assert measured["overflows"] == []
    tables = measured["tables"]
    assert len(tables) == 4  # task 1, task 2, task 3, neural
    # every table's box ends inside the screen, whatever the table's own width
    assert all(t["inScrollBox"] and t["boxRight"] <= width for t in tables), tables
    # the task-3 table (10 metric columns) cannot fit 390 px: it does scroll in its box
    assert max(t["width"] - t["boxWidth"] for t in tables) > 0, tables
    assert measured["brokenValues"] == []  # narrow columns never split a number
    # a figure wider than the screen keeps its readable size and scrolls in its own box
    images = measured["images"]
    assert all(i["boxRight"] <= width for i in images), images
    sizes = {i["alt"]: smallest_text_px(i) for i in images}
    assert min(sizes.values()) >= MIN_TEXT_PX, sorted(sizes.items(), key=lambda kv: kv[1])[:3]
