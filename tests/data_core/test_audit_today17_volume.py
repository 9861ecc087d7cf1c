"""Mutation audit (mut17) of the own-volume tiles and the folder source's 8-bit check:
the tile order, every refusal's boundary, a window that does not start at 0, and the 8-bit
PIL modes the folder source still reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mtneuro.data.vision import load_vision
from mtneuro.data.volume_file import parse_window, volume_tiles
from mtneuro.errors import ConfigError, DataError


def _save(tmp_path: Path, array: np.ndarray, name: str = "v.npy") -> Path:
    np.save(tmp_path / name, array)
    return tmp_path / name


def test_tiles_go_along_a_row_before_the_next_row(tmp_path: Path) -> None:
    # 2 rows x 3 columns: tile 1 is row 0, column 1 (column-major would give row 1, column 0)
    array = (np.arange(16 * 24) % 251).astype(np.uint8).reshape(1, 16, 24)
    tiles = volume_tiles(_save(tmp_path, array), tile=8).images[:, 0].numpy()
    assert np.array_equal(tiles[1], array[0, 0:8, 8:16])
    assert np.array_equal(tiles[3], array[0, 8:16, 0:8])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tile": 7}, r"tile: expected an int >= 8 \(pixels\), got 7"),
    ({"tile": 8, "z_step": 0}, r"z_step: expected an int >= 1, got 0"),
])
def test_a_tile_under_8_px_and_a_z_step_of_0_are_config_errors(tmp_path: Path, kwargs: dict,
                                                              message: str) -> None:
    path = _save(tmp_path, np.zeros((2, 16, 16), dtype=np.uint8))
    with pytest.raises(ConfigError, match=message):
        volume_tiles(path, **kwargs)


def test_a_signed_8_bit_volume_needs_a_window_too(tmp_path: Path) -> None:
    # int8 is 8 bits but -128..127: read as it is, it would not be the 0-255 images trained on
    values = np.full((1, 8, 8), -5, dtype=np.int8)
    values[0, 0, 0] = 3
    path = _save(tmp_path, values)
    with pytest.raises(DataError, match=r"holds int8 values \(-5 to 3\)"):
        volume_tiles(path, tile=8)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"window: expected LOW < HIGH, got '5:5'"):
        parse_window("5:5")
    assert parse_window("-1.5:2") == (-1.5, 2.0)


def test_a_window_maps_its_low_end_to_0_not_zero_to_0(tmp_path: Path) -> None:
    array = np.zeros((1, 8, 32), dtype=np.uint16)
    for column, value in enumerate((500, 1000, 2000, 3000)):
        array[0, :, column * 8:(column + 1) * 8] = value
    tiles = volume_tiles(_save(tmp_path, array), tile=8, window="1000:3000").images
    # 500 clipped at 0, 1000 -> 0, 2000 -> 127.5 rounded to 128, 3000 -> 255
    assert [int(t.unique()) for t in tiles] == [0, 0, 128, 255]


def test_slices_narrower_than_a_tile_one_way_only_are_refused(tmp_path: Path) -> None:
    path = _save(tmp_path, np.zeros((1, 40, 20), dtype=np.uint8))
    with pytest.raises(DataError, match=r"slices of 40 x 20 px are smaller than a tile of 32 "
                                        r"px; give --source-param tile=20 or less"):
        volume_tiles(path, tile=32)


def test_a_file_that_is_not_a_npy_array_is_a_data_error_and_never_unpickled(
        tmp_path: Path) -> None:
    (tmp_path / "v.npy").write_bytes(b"not an array" * 8)
    with pytest.raises(DataError, match=r"v\.npy: cannot read it"):
        volume_tiles(tmp_path / "v.npy", tile=8)


def test_tiff_pages_of_different_sizes_are_named(tmp_path: Path) -> None:
    pages = [Image.fromarray(np.zeros(shape, dtype=np.uint8)) for shape in ((8, 8), (16, 8))]
    pages[0].save(tmp_path / "v.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(DataError, match=r"v\.tif: its pages differ in size"):
        volume_tiles(tmp_path / "v.tif", tile=8)


def test_an_upper_case_suffix_is_read(tmp_path: Path) -> None:
    # two values: a volume of one value is refused (nothing to train on)
    volume = (np.arange(128).reshape(2, 8, 8) % 2 + 9).astype(np.uint8)
    path = _save(tmp_path, volume).rename(tmp_path / "V.NPY")
    assert volume_tiles(path, tile=8).images.unique().tolist() == [9, 10]


def _class_folders(tmp_path: Path, save) -> Path:
    root = tmp_path / "images"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        save(root / cls)
    return root


def test_a_palette_image_is_8_bit_and_reads_through_its_palette(tmp_path: Path) -> None:
    def save(folder: Path) -> None:
        image = Image.fromarray(np.full((16, 16), 3, dtype=np.uint8)).convert("P")
        image.putpalette([value for grey in range(256) for value in (255 - grey,) * 3])
        image.save(folder / "0.png")

    loaded = load_vision("folder", "all", root=_class_folders(tmp_path, save), channels=1)
    assert loaded.images.unique().tolist() == [252]  # index 3 -> grey 255 - 3


def test_a_stack_of_two_pages_is_refused(tmp_path: Path) -> None:
    def save(folder: Path) -> None:
        pages = [Image.fromarray(np.full((16, 16), v, dtype=np.uint8)) for v in (10, 20)]
        pages[0].save(folder / "stack.tif", save_all=True, append_images=pages[1:])

    with pytest.raises(DataError, match=r"stack\.tif holds 2 pages \(an image stack\)"):
        load_vision("folder", "all", root=_class_folders(tmp_path, save), channels=1)
