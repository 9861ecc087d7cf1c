"""Figures embedded in ``report.html``: PNG data URIs, thumbnail sizes, full-size overlays.

A figure is shown at :data:`~mtneuro.report.figures.THUMB_PX_PER_INCH` CSS pixels per
inch of the saved figure (its DPI read from the PNG), so text keeps the size the
plot functions chose; a click targets the ``<figure>``, which the page's CSS turns
into a full-screen overlay at the PNG's natural size (no script). The image carries
``data-dpi`` and ``data-min-font-pt`` (the smallest font :func:`save_figure`
recorded) so a browser test can check the text size as rendered.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from PIL import Image

from mtneuro.report.figures import FONT_KEY, SAVE_DPI, THUMB_PX_PER_INCH


def png_facts(path: Path) -> tuple[int, float, str | None]:
    """(width in pixels, dots per inch, smallest font in points or None) of a PNG."""
    with Image.open(path) as image:
        dpi = image.info.get("dpi", (SAVE_DPI,))[0] or SAVE_DPI
        return image.size[0], float(dpi), image.info.get(FONT_KEY)


def figure_html(path: Path, caption: str, anchor: str) -> str:
    """A ``<figure>`` with the PNG at ``path`` embedded, or a note naming the missing file."""
    if not path.is_file():
        return (
            f"<p class=fail>figure file missing: {html.escape(path.as_posix())} "
            f"({html.escape(caption)})</p>"
        )
    width, dpi, font = png_facts(path)
    shown = max(1, round(width * THUMB_PX_PER_INCH / dpi))
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    text = html.escape(caption)
    font_attr = f" data-min-font-pt={font}" if font else ""
    # the close link targets the empty span: the figure stops being :target, the page stays put
    return (
        f'<figure class=fig id="{anchor}" style="width:{shown}px"><span id="{anchor}-closed">'
        f'</span><a href="#{anchor}" title="open full size">'
        f'<img src="data:image/png;base64,{data}" width={shown} alt="{text}" '
        f"data-dpi={dpi:g}{font_attr}></a><figcaption>{text}</figcaption>"
        f'<a class=close href="#{anchor}-closed">close ✕</a></figure>'
    )
