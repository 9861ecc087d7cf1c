"""A multi-page TIFF as a ``--source volume`` stack: one page a slice.

Read with Pillow (tifffile is no dependency). A page holds one plane, so a hyperstack
(ImageJ / Fiji, OME-TIFF or tifffile with z and channels, or z and time points) would be
read with its channels or time points as slices: its ImageDescription names its axes, and
one with more than one stack axis is refused. A stack whose only axis is called channels
is read as slices with a warning: tifffile's ``imwrite(..., imagej=True)`` labels any 3-D
array so. A damaged or truncated file fails in one line, whatever Pillow raised.

>>> stack_axes("ImageJ=1.11a\\nimages=12\\nchannels=2\\nslices=6\\nhyperstack=true\\n")
{'Z': 6, 'C': 2}
>>> stack_axes('{"shape": [3, 16, 20], "axes": "TYX"}'), stack_axes(None)
({'T': 3}, {})
"""

from __future__ import annotations

import json
import re
import struct
import warnings
from pathlib import Path

import numpy as np

from mtneuro.errors import DataError

#: What Pillow raises on a damaged or truncated TIFF: OSError ("image file is truncated",
#: "decoder error"), TypeError ("Missing dimensions"), SyntaxError ("unknown data
#: organization"), and from its tag parsing ValueError, EOFError, struct.error.
DAMAGED = (OSError, ValueError, TypeError, SyntaxError, EOFError, struct.error)
#: ImageJ's hyperstack keys and the axis each counts, in ImageJ's order (T, Z, C)
_IMAGEJ_AXES = (("frames", "T"), ("slices", "Z"), ("channels", "C"))
_AXIS_NAMES = {"Z": "z slices", "C": "channels", "T": "time points"}


def tiff_pages(path: Path) -> np.ndarray:
    """The pages of the TIFF at ``path`` as one array ``(pages, y, x)`` (or ``(pages, y, x,
    samples)`` for RGB pages, which the caller refuses).

    Raises:
        DataError: a damaged or truncated file, a hyperstack (channels or time points beside
            z), pages that differ in size or type, or fewer pages than its ImageJ metadata
            counts.
    """
    try:
        with warnings.catch_warnings():
            # Pillow's own words on a damaged tag ("Corrupt EXIF data") would come before the
            # one line that names the file; a readable file needs none of them
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            pages, description = _read_pages(path)
    except (PermissionError, FileNotFoundError, IsADirectoryError):
        raise  # the file, not its contents: read_volume says so
    except DAMAGED as err:
        raise DataError(f"volume {path}: cannot read it: a damaged or truncated TIFF "
                        f"({err or type(err).__name__}); write it again, or save the volume "
                        "as .npy") from None
    _check_count(path, description, len(pages))
    return pages


def _read_pages(path: Path) -> tuple[np.ndarray, str | None]:
    """The pages of ``path`` and its ImageDescription, its axes checked before any page is
    decoded."""
    from PIL import Image, ImageSequence

    with Image.open(path) as img:
        description = getattr(img, "tag_v2", {}).get(270)
        description = description if isinstance(description, str) else None
        _check_axes(path, stack_axes(description))
        count, read, pages = img.n_frames, 0, None
        for index, page in enumerate(ImageSequence.Iterator(img)):
            plane = np.asarray(page)
            if pages is None:  # filled in place: a list of pages, then their stack, would
                # hold the volume twice
                pages = np.empty((count, *plane.shape), dtype=plane.dtype)
            elif plane.shape != pages.shape[1:] or plane.dtype != pages.dtype:
                raise DataError(f"volume {path}: its pages differ in size or type (page "
                                f"{index}: {plane.shape} {plane.dtype}, page 0: "
                                f"{pages.shape[1:]} {pages.dtype}); expected one stack")
            pages[index] = plane
            read = index + 1
    if pages is None or read < count:
        raise OSError(f"{read} of {count} pages read")
    return pages, description


def stack_axes(description: str | None) -> dict[str, int]:
    """The stack axes (beyond y, x and samples) of more than one plane that a TIFF's
    ImageDescription names, with their sizes: ImageJ hyperstack keys, OME-XML's ``Size*``
    or tifffile's ``{"shape", "axes"}``; ``{}`` where it names none (a plain stack)."""
    if not description:
        return {}
    if description.startswith("ImageJ="):
        keys = _imagej_keys(description)
        sizes = {axis: _int(keys.get(key)) for key, axis in _IMAGEJ_AXES}
    elif "<OME" in description[:1000]:
        pixels = re.search(r"<(?:\w+:)?Pixels\b[^>]*>", description)
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', pixels.group())) if pixels else {}
        order = attributes.get("DimensionOrder", "XYZCT")[::-1]
        sizes = {axis: _int(attributes.get(f"Size{axis}")) for axis in order if axis in "TZC"}
    elif description.lstrip().startswith("{"):
        try:
            shaped = json.loads(description)
            sizes = dict(zip(shaped["axes"], map(int, shaped["shape"])))
        except (ValueError, KeyError, TypeError):
            return {}
    else:
        return {}
    return {axis: size for axis, size in sizes.items() if axis not in "YXS" and size > 1}


def _imagej_keys(description: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in description.splitlines() if "=" in line)


def _int(text: str | None) -> int:
    try:
        return int(text) if text is not None else 1
    except ValueError:
        return 1


def _check_axes(path: Path, axes: dict[str, int]) -> None:
    held = " x ".join(f"{size} {_AXIS_NAMES.get(axis, f'{axis} planes')}"
                      for axis, size in axes.items())
    if len(axes) > 1:
        raise DataError(f"volume {path}: a {''.join(axes)}YX hyperstack ({held}); read page by "
                        "page, its channels or time points would train as slices: a channel "
                        "axis? save one channel (one time point) as a (z, y, x) stack")
    if list(axes) == ["C"]:
        warnings.warn(f"volume {path}: its metadata calls its {axes['C']} pages channels; "
                      "read as z slices (tifffile's imwrite(..., imagej=True) labels a 3-D "
                      "stack so). If they are channels, save one channel", UserWarning,
                      stacklevel=4)


def _check_count(path: Path, description: object, pages: int) -> None:
    """ImageJ writes the number of images; fewer pages means a cut file, or ImageJ's layout
    of a stack over 4 GB (one page header, the planes after it), which Pillow reads as one."""
    if not isinstance(description, str) or not description.startswith("ImageJ="):
        return
    images = _int(_imagej_keys(description).get("images"))
    if pages < images:
        raise DataError(f"volume {path}: holds {pages} of the {images} pages its ImageJ "
                        "metadata counts (a truncated file, or ImageJ's one-header layout of "
                        "a stack over 4 GB); write it again, or save the volume as .npy")
