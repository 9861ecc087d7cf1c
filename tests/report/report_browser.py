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
SCREENSHOT = "report_screenshot.png"

# Elements whose own box holds text: the text must fit it (scrollWidth <= clientWidth + 1).
_MEASURE = """() => {
  const boxes = new Set(['block', 'table-cell', 'list-item', 'flex', 'grid', 'table-caption',
                         'inline-block', 'flow-root']);
  const overflows = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.textContent.trim() || !boxes.has(getComputedStyle(el).display)) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      overflows.push({tag: el.tagName, text: el.textContent.trim().slice(0, 80),
                      scrollWidth: el.scrollWidth, clientWidth: el.clientWidth});
  }
  const page = document.documentElement;
  const images = [...document.images].map(img => ({
    alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
    shownWidth: img.clientWidth, src: img.src.slice(0, 30),
    dpi: parseFloat(img.dataset.dpi || 'NaN'),
    minFontPt: parseFloat(img.dataset.minFontPt || 'NaN')}));
  return {overflows, images, pageScrollWidth: page.scrollWidth, pageClientWidth: page.clientWidth};
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
    html_path: Path, screenshot: Path | None = None, *, open_figure: str | None = None
) -> dict[str, Any]:
    """Load ``html_path`` offline and measure it.

    Args:
        screenshot: where to save the first screen (viewport :data:`VIEWPORT`), if given.
        open_figure: id of a figure to click open (its full-size overlay), measured after.

    Returns:
        ``overflows`` (elements whose text does not fit), ``images`` (per ``<img>``:
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
            context = browser.new_context(viewport=VIEWPORT, offline=True, device_scale_factor=1)
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
