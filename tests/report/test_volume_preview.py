"""``mtneuro data preview`` / ``data info`` of a volume file of one's own (``--source
volume``): the volume as pre-training will see it, before pre-training."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_capture import run
from matplotlib.figure import Figure
from PIL import Image

from mtneuro.data.volume_file import volume_tiles
from mtneuro.errors import DataError

#: uint16 ramp 0..4095 along x, shape (4, 100, 150): with tile 32 each slice gives 3 x 4
#: tiles, the tiled area y 0:96, x 0:128 (x <= 127: values up to 3490)
RAMP = np.tile(np.linspace(0, 4095, 150).astype(np.uint16), (4, 100, 1))


def _preview(path: Path, out: Path, *params: str) -> list[str]:
    argv = ["data", "preview", "--source", "volume", "--source-param", f"path={path}"]
    for param in params:
        argv += ["--source-param", param]
    return [*argv, "--out", str(out)]


@pytest.fixture
def ramp(tmp_path: Path) -> Path:
    path = tmp_path / "ramp.npy"
    np.save(path, RAMP)
    return path


@pytest.fixture
def saved(monkeypatch) -> list[Figure]:
    """Every figure saved (the PNGs are still written)."""
    seen: list[Figure] = []
    save = Figure.savefig

    def record(fig, *args, **kwargs):
        seen.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return seen


def _title(fig: Figure) -> str:
    return " ".join(fig._suptitle.get_text().split()) if fig._suptitle else ""


def test_ramp_preview_prints_the_tile_count_and_the_exact_clipped_shares(
        ramp, tmp_path, capsys, saved):
    out_png = tmp_path / "p.png"
    code, out, err = run(_preview(ramp, out_png, "window=0:2047", "tile=32", "z_step=2"), capsys)
    assert code == 0, err
    tiled = RAMP[2, :96, :128]  # default z: the middle of the slices read (0 and 2)
    above, below = (tiled > 2047).mean(), (tiled < 0).mean()
    assert 0.4 < above < 0.5  # about half of the tiled area lies above the window
    assert out.strip() == (f"wrote {out_png}: 24 tiles for pre-training (tile 32, z_step 2); "
                           f"slice z=2: {below:.2%} clipped below 0, {above:.2%} above 2047")
    assert [_title(fig) for fig in saved] == [
        ("volume ramp.npy: 4 x 100 x 150 (z, y, x) uint16, window 0:2047; tile 32, z_step 2: "
         "24 tiles for pre-training")]
    # the edge strips left out (x 128:150, y 96:100) are hatched on the slice
    strips = [(p.get_x(), p.get_y(), p.get_width(), p.get_height())
              for p in saved[0].axes[0].patches if p.get_hatch()]
    assert strips == [(128, 0, 22, 100), (0, 96, 128, 4)]
    with Image.open(out_png) as image:  # 14 x 8.5 in at 100 dpi, margins trimmed
        assert image.format == "PNG"
        assert 1000 <= image.size[0] <= 1400 and 650 <= image.size[1] <= 850


def test_the_view_holds_the_tiles_and_shares_pretraining_gets(ramp):
    from mtneuro.report.preview_volume import read_volume_view

    params = {"path": str(ramp), "tile": 32, "z_step": 2, "window": "0:2047"}
    view = read_volume_view(params)
    assert (view.layout.rows, view.layout.cols, view.layout.count) == (3, 4, 24)
    assert view.clipped_above == (RAMP[2, :96, :128] > 2047).mean()
    pretraining = volume_tiles(**params).images.numpy()
    assert len(pretraining) == view.layout.count
    assert np.array_equal(view.tiles, pretraining[12:24])  # slice z=2 is the second read
    assert read_volume_view({"path": str(ramp), "tile": 32}).layout.count == 48


def test_a_16_bit_volume_without_a_window_previews_with_the_window_pretraining_suggests(
        ramp, tmp_path, capsys, saved):
    with pytest.raises(DataError) as refused:
        volume_tiles(ramp, tile=32)
    suggested = re.search(r"window=(\S+?),", str(refused.value)).group(1)
    assert suggested == "0:3490"
    code, out, err = run(_preview(ramp, tmp_path / "w.png", "tile=32"), capsys)
    assert code == 0, err
    assert out.strip().endswith("48 tiles for pre-training (tile 32, z_step 1); pre-training "
                                "needs --source-param window=LOW:HIGH for uint16 values "
                                f"(suggested window={suggested}, the values' range)")
    assert ("Pre-training needs --source-param window=LOW:HIGH for uint16 values; shown with "
            f"the suggested window={suggested}") in _title(saved[0])
    assert (tmp_path / "w.png").is_file()


def test_a_nan_volume_fails_in_one_line_as_pretraining_does(tmp_path, capsys):
    volume = RAMP.astype(np.float32)
    volume[1, 5, 7] = np.nan
    np.save(tmp_path / "nan.npy", volume)
    with pytest.raises(DataError) as refused:
        volume_tiles(tmp_path / "nan.npy", tile=32, window="0:4095")
    code, _, err = run(_preview(tmp_path / "nan.npy", tmp_path / "n.png", "tile=32",
                                "window=0:4095"), capsys)
    assert code == 2
    assert err == f"error: {refused.value}\n"
    assert not (tmp_path / "n.png").exists()


def test_a_slice_pretraining_skips_is_refused_naming_the_ones_it_reads(ramp, tmp_path, capsys):
    code, _, err = run([*_preview(ramp, tmp_path / "z.png", "z_step=2"), "--z", "1"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "z 1: pre-training reads slices 0, 2, 4, ... (z_step=2), not this one; give --z 0 " \
           "or 2, or --source-param z_step=1" in err


def test_data_info_of_a_volume_gives_its_range_and_tile_count(ramp, capsys):
    code, out, err = run(["data", "info", "--source", "volume", "--source-param",
                          f"path={ramp}", "--source-param", "tile=32", "--source-param",
                          "z_step=2"], capsys)
    assert code == 0, err
    for line in ("shape:      4 x 100 x 150 voxels (z, y, x)", "dtype:      uint16",
                 "values:     0 to 3490 (the voxels pre-training reads)",
                 "suggested window=0:3490",
                 "tiles:      24 of 32 px (z_step 2: 2 slices x 3 x 4;"):
        assert line in out


def test_the_help_of_data_preview_names_the_volume_source(capsys):
    code, out, _ = run(["data", "preview", "--help"], capsys)
    assert code == 0 and "--source volume" in out
