"""An image folder of 16-bit, float or multi-page images is refused, naming the file, where
PIL's conversion clipped 16-bit values at 255, turned floats in [0, 1] black and read only a
stack's first page, all silently (own-volume walkthrough F2, F3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mtneuro.data.vision import load_vision
from mtneuro.errors import DataError


def _folder(tmp_path: Path, arrays: list[np.ndarray], suffix: str = ".tif") -> Path:
    root = tmp_path / "images"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i, array in enumerate(arrays):
            Image.fromarray(array).save(root / cls / f"{i}{suffix}")
    return root


def test_eight_bit_images_load_with_their_values(tmp_path: Path) -> None:
    image = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    root = _folder(tmp_path, [image] * 3, ".png")
    loaded = load_vision("folder", "all", root=root, channels=1)
    assert loaded.images.shape == (6, 1, 64, 64)
    assert np.array_equal(loaded.images[0, 0].numpy(), image)


@pytest.mark.parametrize(("array", "mode"), [
    (np.full((64, 64), 4000, dtype=np.uint16), "I;16"),
    (np.full((64, 64), 0.5, dtype=np.float32), "F"),
    (np.full((64, 64), 70000, dtype=np.int32), "I"),
])
def test_an_image_of_more_than_eight_bits_is_refused(tmp_path: Path, array: np.ndarray,
                                                     mode: str) -> None:
    root = _folder(tmp_path, [array])
    with pytest.raises(DataError, match=rf"0\.tif is a {mode} image \(more than 8 bits a "
                                        r"pixel\); the folder source reads 8-bit images"):
        load_vision("folder", "all", root=root, channels=1)


def test_a_stack_of_pages_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "images"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        pages = [Image.fromarray(np.full((64, 64), v, dtype=np.uint8)) for v in (10, 20, 30)]
        pages[0].save(root / cls / "stack.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(DataError, match=r"stack\.tif holds 3 pages \(an image stack\)"):
        load_vision("folder", "all", root=root, channels=1)


def test_a_file_given_as_the_image_folder_is_named_a_file(tmp_path: Path) -> None:
    volume = tmp_path / "vol.npy"
    np.save(volume, np.zeros((4, 8, 8), dtype=np.uint8))
    with pytest.raises(DataError, match=r"vol\.npy is a file, not a folder of class sub-folders"):
        load_vision("folder", "all", root=volume)
    with pytest.raises(DataError, match=r"image folder not found: .*missing"):
        load_vision("folder", "all", root=tmp_path / "missing")
