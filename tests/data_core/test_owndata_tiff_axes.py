"""A TIFF hyperstack is not read with its channels or time points as slices (own-data audit,
item 2): Pillow reads page after page, so a ZCYX Fiji stack trained on bright tissue and a
dim stain alike. Its ImageDescription names the axes; plain multi-page TIFFs read as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_capture import run
from PIL import Image

from mtneuro.data.volume_file import read_volume, volume_tiles
from mtneuro.errors import DataError

IMAGEJ_ZCYX = "ImageJ=1.54f\nimages=6\nchannels=2\nslices=3\nhyperstack=true\nmode=grayscale\n"


def _pages(path: Path, count: int = 6, description: str | None = None) -> Path:
    rng = np.random.default_rng(0)
    pages = [Image.fromarray(rng.integers(0, 256, (16, 24), dtype=np.uint8))
             for _ in range(count)]
    extra = {"description": description} if description else {}
    pages[0].save(path, save_all=True, append_images=pages[1:], **extra)
    return path


@pytest.mark.parametrize(("description", "axes"), [
    (IMAGEJ_ZCYX, r"a ZCYX hyperstack \(3 z slices x 2 channels\)"),
    ("ImageJ=1.54f\nimages=6\nslices=2\nframes=3\nhyperstack=true\n",
     r"a TZYX hyperstack \(3 time points x 2 z slices\)"),
    ('{"shape": [3, 2, 16, 24], "axes": "ZCYX"}', r"a ZCYX hyperstack"),
    (('<?xml version="1.0"?><OME><Image><Pixels DimensionOrder="XYCZT" SizeC="2" SizeT="1" '
     'SizeX="24" SizeY="16" SizeZ="3" Type="uint8"></Pixels></Image></OME>'),
     r"a ZCYX hyperstack \(3 z slices x 2 channels\)"),
], ids=["imagej-zcyx", "imagej-tzyx", "tifffile-shaped", "ome"])
def test_a_hyperstack_is_refused_in_one_line_naming_its_axes(tmp_path, description, axes):
    path = _pages(tmp_path / "h.tif", description=description)
    with pytest.raises(DataError, match=axes) as refused:
        volume_tiles(path, tile=8)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"volume {path}: ")
    assert message.endswith("a channel axis? save one channel (one time point) as a (z, y, x) "
                            "stack")


@pytest.mark.parametrize("description", [
    None, "ImageJ=1.54f\nimages=6\nslices=6\n", "ImageJ=1.54f\nimages=6\nframes=6\n",
    '{"shape": [6, 16, 24]}', "a microscope's own note",
], ids=["plain", "imagej-z", "imagej-t", "tifffile-no-axes", "free-text"])
def test_a_stack_with_one_stack_axis_reads_its_pages_as_slices(tmp_path, description):
    path = _pages(tmp_path / "s.tif", description=description)
    assert read_volume(path).shape == (6, 16, 24)


def test_pages_an_imagej_file_calls_channels_read_as_slices_with_a_warning(tmp_path):
    # tifffile.imwrite(path, volume, imagej=True) labels any 3-D stack "channels=N"
    path = _pages(tmp_path / "c.tif", description="ImageJ=1.11a\nimages=6\nchannels=6\n")
    with pytest.warns(UserWarning, match=r"c\.tif: its metadata calls its 6 pages channels; "
                                         r"read as z slices"):
        assert read_volume(path).shape == (6, 16, 24)


def test_fewer_pages_than_imagej_counts_is_refused(tmp_path):
    path = _pages(tmp_path / "cut.tif", count=4, description="ImageJ=1.54f\nimages=6\nslices=6\n")
    with pytest.raises(DataError, match=r"cut\.tif: holds 4 of the 6 pages its ImageJ metadata "
                                        r"counts"):
        read_volume(path)


def test_data_info_of_a_hyperstack_is_one_error_line(tmp_path, capsys):
    path = _pages(tmp_path / "h.tif", description=IMAGEJ_ZCYX)
    code, _, err = run(["data", "info", "--source", "volume", "--source-param",
                        f"path={path}"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "ZCYX hyperstack" in err


@pytest.mark.parametrize(("axes", "refused"), [("ZCYX", True), ("TZYX", True), ("ZYX", False)])
def test_tifffile_imagej_and_ome_files(tmp_path, axes, refused):
    tifffile = pytest.importorskip("tifffile")
    shape = (3, 2, 16, 24) if len(axes) == 4 else (3, 16, 24)
    volume = np.random.default_rng(0).integers(0, 4096, shape, dtype=np.uint16)
    for kind in ("imagej", "ome"):
        path = tmp_path / f"{kind}.tif"
        tifffile.imwrite(path, volume, metadata={"axes": axes}, **{kind: True})
        if refused:
            with pytest.raises(DataError, match=f"a {axes} hyperstack"):
                read_volume(path)
        else:
            assert np.array_equal(read_volume(path), volume)
