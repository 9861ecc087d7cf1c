"""Render ``report.html`` offline in headless Chromium (Playwright); measure what a reader sees.

Uses the system Chromium (Debian package ``chromium``; ``MTNEURO_CHROMIUM`` overrides the
path), never a browser downloaded by ``playwright install``. The browser context is offline.

Also a script: ``python tests/report/report_browser.py DIR/report.html`` prints the
measurements and saves the first screen beside the report as ``report_screenshot.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}  # a phone held upright (CSS pixels)
SCREENSHOT = "report_screenshot.png"

# Elements whose own box holds text: the text must fit it (scrollWidth <= clientWidth + 1),
# unless the box scrolls sideways by design (overflow-x auto or scroll, e.g. a table's box).
# Each table: whether a sideways-scrolling box holds it and where that box ends, so a wide
# table cannot widen the page. Each value in a table cell (a number, with its ± or
# [low, high] if any): whether the browser broke it over several lines.
_MEASURE = """() => {
  const boxes = new Set(['block', 'table-cell', 'list-item', 'flex', 'grid', 'table-caption',
                         'inline-block', 'flow-root', 'table']);
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const overflows = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.textContent.trim() || !boxes.has(getComputedStyle(el).display)) continue;
    if (scrolls(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      overflows.push({tag: el.tagName, text: el.textContent.trim().slice(0, 80),
                      scrollWidth: el.scrollWidth, clientWidth: el.clientWidth});
  }
  const tables = [...document.querySelectorAll('table')].map(table => {
    let box = table.parentElement;
    while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
    const inBox = !!box && box !== document.body;
    return {text: table.textContent.trim().slice(0, 40), width: table.offsetWidth,
            inScrollBox: inBox, boxWidth: inBox ? box.clientWidth : null,
            boxRight: inBox ? box.getBoundingClientRect().right : null};
  });
  const VALUE = /-?\\d+\\.\\d+(?: ± \\d+\\.\\d+| \\[-?\\d+\\.\\d+, -?\\d+\\.\\d+\\])?/g;
  const brokenValues = [];
  for (const td of document.querySelectorAll('td')) {
    const nodes = [];  // [text node, offset of its first character in the cell's text]
    let text = '';
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push([n, text.length]);
      text += n.data;
    }
    const at = i => {
      const [node, start] = nodes.findLast(([, s]) => s <= i);
      return [node, i - start];
    };
    for (const match of text.matchAll(VALUE)) {
      const range = document.createRange();
      range.setStart(...at(match.index));
      range.setEnd(...at(match.index + match[0].length));
      const rects = [...range.getClientRects()].filter(r => r.width > 0);
      // a piece that starts at or below the first piece's bottom sits on a later line
      if (rects.some(r => r.top >= rects[0].bottom - 1))
        brokenValues.push({text: match[0], cell: text.trim().slice(0, 60)});
    }
  }
  const page = document.documentElement;
  const images = [...document.images].map(img => ({
    alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
    shownWidth: img.clientWidth, src: img.src.slice(0, 30),
    boxRight: (img.closest('figure') || img).getBoundingClientRect().right,
    dpi: parseFloat(img.dataset.dpi || 'NaN'),
    minFontPt: parseFloat(img.dataset.minFontPt || 'NaN')}));
  return {overflows, tables, brokenValues, images, pageScrollWidth: page.scrollWidth,
          pageClientWidth: page.clientWidth};
}"""


def chromium_path() -> str | None:
    """The Chromium executable to drive, or None where none is installed."""
    if os.environ.get("MTNEURO_CHROMIUM"):
        return os.environ["MTNEURO_CHROMIUM"]
    return shutil.which("chromium") or shutil.which("chromium-browser")


def smallest_text_px(image: dict[str, Any]) -> float:
    """CSS pixels of the smallest text of a shown image (its font, DPI and display scale)."""
    return image["minFontPt"] / 72 * image["dpi"] * image["shownWidth"] / image["naturalWidth"]


def render_report(
    html_path: Path,
    screenshot: Path | None = None,
    *,
    open_figure: str | None = None,
    viewport: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Load ``html_path`` offline and measure it.

    Args:
        screenshot: where to save the first screen (of the viewport), if given.
        open_figure: id of a figure to click open (its full-size overlay), measured after.
        viewport: width and height in CSS pixels (:data:`VIEWPORT` unless given; a phone's:
            :data:`PHONE_VIEWPORT`).

    Returns:
        ``overflows`` (elements whose text does not fit), ``tables`` (per ``<table>``: its
        width, and the width and right edge of the sideways-scrolling box holding it, if
        any), ``brokenValues`` (table values split over lines), ``images`` (per ``<img>``:
        natural and shown width, DPI, smallest font), page widths, ``requests`` (every URL
        the page asked for other than itself and ``data:``), ``console_errors`` and, with
        ``open_figure``, ``opened`` (shown vs natural width of its image in the overlay).
    """
    from playwright.sync_api import sync_playwright

    url = Path(html_path).resolve().as_uri()
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=viewport or VIEWPORT, offline=True, device_scale_factor=1
            )
            page = context.new_page()
            page.on(
                "request",
                lambda r: (
                    requests.append(r.url)
                    if not r.url.startswith("data:") and r.url.split("#")[0] != url
                    else None
                ),
            )
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url, wait_until="load")
            result = page.evaluate(_MEASURE)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=False)
            if open_figure is not None:
                page.click(f'a[href="#{open_figure}"]')
                result["opened"] = page.evaluate(
                    """id => { const fig = document.getElementById(id);
                       const img = fig.querySelector('img');
                       return {target: fig.matches(':target'),
                               position: getComputedStyle(fig).position,
                               shownWidth: img.clientWidth,
                               naturalWidth: img.naturalWidth}; }""",
                    open_figure,
                )
                page.click(f"#{open_figure} a.close")
                result["closed"] = not page.evaluate(
                    "id => document.getElementById(id).matches(':target')", open_figure
                )
        finally:
            browser.close()
    return {**result, "requests": requests, "console_errors": errors}


if __name__ == "__main__":
    report = Path(sys.argv[1])
    measured = render_report(report, report.parent / SCREENSHOT)
    smallest = min(
        (smallest_text_px(i) for i in measured["images"] if i["minFontPt"] == i["minFontPt"]),
        default=None,
    )
    print(
        json.dumps(
            {
                "images": len(measured["images"]),
                "not loaded": [i["alt"] for i in measured["images"] if not i["naturalWidth"]],
                "smallest figure text px": smallest,
                "overflows": measured["overflows"],
                "page": [measured["pageScrollWidth"], measured["pageClientWidth"]],
                "requests": measured["requests"],
                "console errors": measured["console_errors"],
                "screenshot": str(report.parent / SCREENSHOT),
            },
            indent=1,
        )
    )
