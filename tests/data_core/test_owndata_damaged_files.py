"""A damaged own volume fails in one line naming the file and the fault (own-data audit,
item 3), not in the traceback of whichever reader met it: a truncated TIFF (Pillow's
TypeError "Missing dimensions" and others), a truncated .npy ("mmap length is greater than
file size"), a Zarr chunk that does not decode (read lazily, when a slab needs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_capture import run
from PIL import Image

from mtneuro.data.volume_file import read_volume, volume_tiles
from mtneuro.errors import DataError


def _one_line(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as refused:
        volume_tiles(path, tile=8, **kwargs)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"volume {path}")
    return message


def test_a_tiff_cut_anywhere_fails_in_one_line(tmp_path: Path):
    rng = np.random.default_rng(0)
    pages = [Image.fromarray(rng.integers(0, 4096, (40, 50), dtype=np.uint16)) for _ in range(4)]
    pages[0].save(tmp_path / "full.tif", save_all=True, append_images=pages[1:])
    whole = (tmp_path / "full.tif").read_bytes()
    cut = tmp_path / "cut.tif"
    # the cuts meet each of Pillow's errors: OSError "image file is truncated", TypeError
    # "Missing dimensions", SyntaxError "unknown data organization"
    for size in range(0, len(whole), 97):
        cut.write_bytes(whole[:size])
        message = _one_line(cut, window="0:4095")
        assert "cannot read it: a damaged or truncated TIFF (" in message, (size, message)


def test_a_truncated_npy_says_so_with_the_sizes(tmp_path: Path):
    np.save(tmp_path / "v.npy", np.zeros((8, 130, 200), dtype=np.uint8))
    whole = (tmp_path / "v.npy").read_bytes()
    (tmp_path / "v.npy").write_bytes(whole[: len(whole) // 2])
    assert _one_line(tmp_path / "v.npy") == (
        f"volume {tmp_path / 'v.npy'}: a truncated .npy file (expected 208,128 bytes for shape "
        "(8, 130, 200) uint8, found 104,064); copy or save it again")


def _corrupt_zarr(tmp_path: Path) -> Path:
    import zarr

    path = tmp_path / "v.zarr"
    stored = zarr.open_array(str(path), mode="w", shape=(4, 24, 32), chunks=(1, 16, 16),
                             dtype="uint8", zarr_format=2)
    stored[:] = np.random.default_rng(0).integers(1, 256, (4, 24, 32), dtype=np.uint8)
    (path / "2.0.1").write_bytes(b"garbage")
    return path


def test_a_zarr_chunk_that_does_not_decode_is_named_with_the_volume(tmp_path: Path, capsys):
    path = _corrupt_zarr(tmp_path)
    assert read_volume(path).shape == (4, 24, 32)  # metadata alone: chunks are read later
    message = _one_line(path)
    assert "cannot read slices z=0:4 (RuntimeError: " in message
    assert message.endswith("a damaged chunk file? write the array again, or save the volume "
                            "as .npy")
    for command in (["data", "info"], ["data", "preview", "--out", str(tmp_path / "p.png")]):
        code, _, err = run([*command, "--source", "volume", "--source-param", f"path={path}",
                            "--source-param", "tile=8"], capsys)
        assert code == 2 and err == f"error: {message}\n"


def test_a_2d_zarr_array_is_one_slice(tmp_path: Path):
    import zarr

    plane = (np.arange(16 * 24) % 251).astype(np.uint8).reshape(16, 24)
    stored = zarr.open_array(str(tmp_path / "p.zarr"), mode="w", shape=plane.shape,
                             dtype="uint8")
    stored[:] = plane
    tiles = volume_tiles(tmp_path / "p.zarr", tile=8).images
    assert tiles.shape == (6, 1, 8, 8) and np.array_equal(tiles[4, 0].numpy(), plane[8:, 8:16])


def test_a_folder_of_png_slices_is_no_volume(tmp_path: Path):
    folder = tmp_path / "slices"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(np.full((16, 16), index, np.uint8)).save(folder / f"s{index:03d}.png")
    assert _one_line(folder) == (
        f"volume {folder}: a folder of 3 images (.png), not a volume; --source volume reads one "
        ".npy file, one multi-page .tif / .tiff stack or a Zarr array folder (stack the slices "
        "into one), and --source folder reads folders of images (root/<class>/<image>)")
    (tmp_path / "empty").mkdir()
    assert "a folder without Zarr metadata (zarr.json or .zarray or .zgroup)" in _one_line(
        tmp_path / "empty")


def test_a_tiff_that_cannot_be_opened_is_not_called_damaged(tmp_path, monkeypatch):
    """A permission error is about the file, not its contents."""
    path = tmp_path / "locked.tif"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(path)

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", refused)
    with pytest.raises(DataError, match=r"cannot read it \(\[Errno 13\] Permission denied") as err:
        read_volume(path)
    assert "damaged" not in str(err.value)
