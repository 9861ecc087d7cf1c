"""Known answers for today's figure changes (mutation audit mut18): a 3D overlay's title
keeps the caller's caption above the slice it names, and report.html lets a wide figure
scroll in its own box at its readable size rather than shrink it.

The browser measures the phone-width layout in ``test_browser.py`` (when Playwright is
installed); the style sheet's rules are checked here without one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from report_fixture import write_cell

from mtneuro.report.figures import new_figure, save_figure
from mtneuro.report.html import build_report
from mtneuro.report.plots_segmentation import plot_overlays

CLASSES = ["background", "vessel", "cell", "axon"]


def test_a_3d_overlay_keeps_its_caption_above_the_slice_it_names(captured: list,
                                                                  tmp_path: Path) -> None:
    blocks = np.zeros((1, 4, 2, 2), dtype=np.uint8)
    labels = np.zeros((1, 4, 2, 2), dtype=np.int64)
    plot_overlays(blocks, labels, labels, CLASSES, tmp_path / "o.png", title="unet3d, seed 0")
    lines = captured[0]._suptitle.get_text().split("\n")
    # depth 4: the shown slice is 4 // 2, the third of 1..4
    assert lines == ["unet3d, seed 0", "3D blocks of 4 slices: slice 3 of 4 shown"]


def test_a_2d_overlay_title_is_the_caption_alone(captured: list, tmp_path: Path) -> None:
    tiles = np.zeros((1, 2, 2), dtype=np.uint8)
    labels = np.zeros((1, 2, 2), dtype=np.int64)
    plot_overlays(tiles, labels, labels, CLASSES, tmp_path / "o.png", title="unet, seed 0")
    assert captured[0]._suptitle.get_text() == "unet, seed 0"


def _declarations(page: str, selector: str) -> set[str]:
    """The declarations of ``selector``'s first rule in the page's style sheet."""
    rule = re.search(re.escape(selector) + r"\{([^}]*)\}", page)
    assert rule is not None, f"no {selector} rule in the page's style sheet"
    return set(rule.group(1).split(";"))


def test_a_wide_figure_scrolls_in_its_box_at_its_own_size(tmp_path: Path) -> None:
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5},
               lambda d: [save_figure(new_figure(figsize=(9, 1)), d / "wide.png", dpi=50)])
    page = build_report(tmp_path)["html"].read_text()
    assert re.search(r'<figure class=fig id="fig\d+" style="width:\d+px">', page)
    # the box never exceeds the screen and scrolls; the image inside keeps its width
    assert {"max-width:100%", "overflow-x:auto"} <= _declarations(page, "figure.fig")
    image = _declarations(page, "figure.fig img")
    assert "max-width:none" in image and "max-width:100%" not in image
