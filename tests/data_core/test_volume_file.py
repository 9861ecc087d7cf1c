"""A volume of one's own (``--source volume``): tiles in known places, each file format, an
explicit intensity window for anything but 8 bits, clear refusals (own-data walkthrough F1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mtneuro.data.volume_file import parse_window, volume_tiles
from mtneuro.errors import ConfigError, DataError


def _volume(shape: tuple[int, ...] = (3, 20, 30)) -> np.ndarray:
    return (np.arange(np.prod(shape)) % 251).astype(np.uint8).reshape(shape)


def test_tiles_are_the_volumes_blocks_slice_by_slice_row_by_row(tmp_path: Path) -> None:
    array = _volume()
    np.save(tmp_path / "v.npy", array)
    tiles = volume_tiles(tmp_path / "v.npy", tile=8, z_step=2)
    # slices 0 and 2; 2 rows x 3 columns of 8-px tiles; the 4-px and 6-px edges left out
    assert tiles.images.shape == (12, 1, 8, 8) and tiles.classes == ("volume",)
    second_slice_row1_col2 = tiles.images[6 + 3 + 2, 0].numpy()
    assert np.array_equal(second_slice_row1_col2, array[2, 8:16, 16:24])
    assert tiles.labels.tolist() == [0] * 12


def test_a_tiff_stack_and_a_zarr_array_read_as_the_same_volume(tmp_path: Path) -> None:
    import zarr

    array = _volume()
    pages = [Image.fromarray(page) for page in array]
    pages[0].save(tmp_path / "v.tif", save_all=True, append_images=pages[1:])
    stored = zarr.open_array(str(tmp_path / "v.zarr"), mode="w", shape=array.shape,
                             dtype=array.dtype)
    stored[:] = array
    np.save(tmp_path / "v.npy", array)
    reference = volume_tiles(tmp_path / "v.npy", tile=10).images
    for name in ("v.tif", "v.zarr"):
        assert torch_equal(volume_tiles(tmp_path / name, tile=10).images, reference)


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def test_more_than_eight_bits_need_a_window_that_maps_to_0_255(tmp_path: Path) -> None:
    array = np.full((1, 8, 24), 0, dtype=np.uint16)
    array[0, :, 8:16], array[0, :, 16:] = 2000, 5000
    np.save(tmp_path / "v.npy", array)
    with pytest.raises(DataError, match=r"holds uint16 values \(0 to 5000\); give the intensity "
                                        r"window mapped to 0-255, e.g. --source-param "
                                        r"window=0:5000"):
        volume_tiles(tmp_path / "v.npy", tile=8)
    tiles = volume_tiles(tmp_path / "v.npy", tile=8, window="0:4000").images
    # 0 -> 0, 2000 -> 127.5 rounded to 128, 5000 clipped at 255
    assert [int(t.unique()) for t in tiles] == [0, 128, 255]


def test_nan_voxels_are_refused(tmp_path: Path) -> None:
    array = np.zeros((2, 8, 8), dtype=np.float32)
    array[1, 3, 3] = np.nan
    np.save(tmp_path / "v.npy", array)
    with pytest.raises(DataError, match="1 NaN voxels"):
        volume_tiles(tmp_path / "v.npy", tile=8, window="0:1")


@pytest.mark.parametrize(("shape", "tile", "message"), [
    ((2, 20, 30), 32, (r"slices of 20 x 30 px are smaller than a tile of 32 px; give "
                       r"--source-param tile=20 or less")),
    ((2, 3, 20, 30), 8, (r"expected a 3D array \(z, y, x\) or one 2D slice, got shape "
                         r"\(2, 3, 20, 30\)")),
])
def test_volumes_that_cannot_be_tiled_are_refused(tmp_path: Path, shape: tuple, tile: int,
                                                  message: str) -> None:
    np.save(tmp_path / "v.npy", np.zeros(shape, dtype=np.uint8))
    with pytest.raises(DataError, match=message):
        volume_tiles(tmp_path / "v.npy", tile=tile)


def test_a_zarr_group_names_the_arrays_it_holds(tmp_path: Path) -> None:
    import zarr

    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    for name in ("raw", "labels"):
        group.create_array(name, shape=(2, 16, 16), dtype="uint8")
    with pytest.raises(DataError) as err:
        volume_tiles(tmp_path / "g.zarr", tile=8)
    assert str(err.value) == (f"volume {tmp_path / 'g.zarr'}: a Zarr group, not an array; give "
                              f"the path of one of its arrays ({tmp_path / 'g.zarr' / 'labels'}, "
                              f"{tmp_path / 'g.zarr' / 'raw'})")


def test_a_2d_image_is_one_slice_and_other_files_are_named(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", _volume((16, 16)))  # not one value: that is refused
    assert volume_tiles(tmp_path / "v.npy", tile=8).images.shape == (4, 1, 8, 8)
    (tmp_path / "v.csv").write_text("1,2\n")
    with pytest.raises(DataError, match=r"expected a \.npy file, a \.tif / \.tiff stack or a "
                                        r"Zarr array folder"):
        volume_tiles(tmp_path / "v.csv")
    with pytest.raises(DataError, match="volume file not found"):
        volume_tiles(tmp_path / "missing.npy")


@pytest.mark.parametrize(("window", "message"), [
    ("0-4000", r"window: expected LOW:HIGH"), ("9:1", r"window: expected LOW < HIGH")])
def test_bad_windows_name_the_key(window: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_window(window)


def _invoke(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from mtneuro.cli.main import main

    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    return code, capsys.readouterr().err


def test_the_pretrain_command_trains_on_a_volume_file(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    import json

    np.save(tmp_path / "v.npy", _volume((4, 64, 64)))
    code, err = _invoke(["pretrain", "--source", "volume", "--source-param",
                         f"path={tmp_path / 'v.npy'}", "--source-param", "tile=32", "--quick",
                         "--source-param", "z_step=1", "--quiet", "--epochs", "1", "--out",
                         str(tmp_path / "run")], capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["source"]["tiles"] == 16 and (tmp_path / "run" / "encoder.pt").is_file()
    code, err = _invoke(["pretrain", "--source", "volume", "--source-param", "pth=v.npy",
                         "--quick", "--out", str(tmp_path / "bad")], capsys)
    assert (code, err) == (2, ("error: source parameter 'pth' (--source-param pth=...): "
                               "source 'volume' takes: path, tile, z_step, window\n"))
    code, err = _invoke(["pretrain", "--source", "volume", "--quick", "--out",
                         str(tmp_path / "bad")], capsys)
    assert code == 2 and "give the file, --source-param path=FILE" in err


def test_a_volume_of_one_value_is_refused_not_given_an_impossible_window(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.full((2, 16, 16), 7, dtype=np.uint16))
    with pytest.raises(DataError, match=r"holds one value \(7\) in every voxel read: nothing "
                                        "to train on"):
        volume_tiles(tmp_path / "v.npy", tile=8)


# -- every bad input fails in one line naming the file (own-volume walkthrough, inputs) ----
def _refusal(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as refused:
        volume_tiles(path, **kwargs)
    message = str(refused.value)
    assert "\n" not in message
    return message


_REPLACE = "replace them (e.g. by the background value) before pre-training"


@pytest.mark.parametrize(("bad", "what"), [(np.inf, "infinite"), (-np.inf, "infinite"),
                                           (np.nan, "NaN")])
@pytest.mark.parametrize("window", [None, "0:1"])
def test_nan_and_infinite_voxels_are_counted_and_the_first_named_in_volume_indices(
        tmp_path: Path, bad: float, what: str, window: str | None) -> None:
    array = np.zeros((4, 8, 8), dtype=np.float32)
    array[0, 0, 1] = 0.5
    array[2, 3, 4] = array[2, 5, 5] = bad
    array[3, 0, 0] = bad  # not read with z_step=2: not counted
    path = tmp_path / "v.npy"
    np.save(path, array)
    # slice 1 of the two read is the volume's slice 2
    assert _refusal(path, tile=8, z_step=2, window=window) == (
        f"volume {path}: 2 {what} voxels (first at z=2, y=3, x=4); {_REPLACE}")


@pytest.mark.parametrize("window", ["-1.0:inf", "-inf:0", "nan:1"])
def test_a_window_with_an_infinite_or_nan_end_is_refused(window: str) -> None:
    # with 0:inf every voxel scaled by 255 / inf = 0: black tiles, and training went on
    with pytest.raises(ConfigError) as refused:
        parse_window(window)
    assert str(refused.value) == f"window: expected finite LOW:HIGH (e.g. 0:4095), got {window!r}"


@pytest.mark.parametrize("shape", [(0, 100, 150), (4, 0, 150), (3, 20, 0), (0, 150)])
def test_a_volume_with_no_voxels_names_its_shape(tmp_path: Path, shape: tuple) -> None:
    path = tmp_path / "v.npy"
    np.save(path, np.zeros(shape, dtype=np.uint8))
    assert _refusal(path, tile=8) == (f"volume {path}: holds no voxels (shape {shape}); expected "
                                      "at least one slice of at least 8 x 8 px")


def test_a_file_that_is_not_a_npy_file_says_so_not_numpys_pickle_advice(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(b"not a numpy file")
    assert _refusal(path, tile=8) == (f"volume {path}: cannot read it: not a NumPy .npy file (it "
                                      "does not start as one; a text or other file?)")


@pytest.mark.parametrize(("shape", "tile", "axes"), [
    ((5, 30), 8, "y"), ((1, 40, 6), 32, "x"), ((2, 5, 7), 8, "y and x")])
def test_slices_under_the_smallest_tile_suggest_no_tile_that_would_be_refused(
        tmp_path: Path, shape: tuple, tile: int, axes: str) -> None:
    path = tmp_path / "v.npy"
    np.save(path, _volume(shape))
    height, width = shape[-2:]
    assert _refusal(path, tile=tile) == (
        f"volume {path}: slices of {height} x {width} px are smaller than the smallest tile "
        f"(8 px) in {axes}; expected slices of at least 8 x 8 px")


@pytest.mark.parametrize(("array", "window", "shown"), [
    (np.full((2, 8, 8), 3, dtype=np.uint8), None, "3"),
    (np.full((2, 8, 8), 2.5, dtype=np.float32), "0:10", "2.5"),
    (np.ones((2, 8, 8), dtype=bool), "0:1", "True")])
def test_a_volume_of_one_value_is_refused_whatever_its_type_and_window(
        tmp_path: Path, array: np.ndarray, window: str | None, shown: str) -> None:
    path = tmp_path / "v.npy"
    np.save(path, array)
    assert _refusal(path, tile=8, window=window) == (
        f"volume {path} holds one value ({shown}) in every voxel read: nothing to train on")


def test_a_window_beside_the_values_is_refused_not_trained_on_as_black(tmp_path: Path) -> None:
    array = np.zeros((1, 8, 16), dtype=np.uint16)
    array[0, :, 8:] = 5000
    path = tmp_path / "v.npy"
    np.save(path, array)
    assert _refusal(path, tile=8, window="6000:7000") == (
        f"volume {path}: window 6000:7000 maps every voxel read to 0 (the values run 0 to "
        "5000); give a window that overlaps them, e.g. --source-param window=0:5000")


def test_a_bool_volume_reads_as_0_and_255_without_a_window(tmp_path: Path) -> None:
    mask = np.zeros((2, 8, 16), dtype=bool)
    mask[0, 2:5, 3:12] = mask[1, 6:, :4] = True
    np.save(tmp_path / "v.npy", mask)
    pages = [Image.fromarray(page) for page in mask]  # PIL mode "1": a bilevel TIFF
    pages[0].save(tmp_path / "v.tif", save_all=True, append_images=pages[1:])
    expected = (mask.astype(np.uint8) * 255).reshape(2, 8, 2, 8).transpose(0, 2, 1, 3)
    for name in ("v.npy", "v.tif"):
        tiles = volume_tiles(tmp_path / name, tile=8).images[:, 0].numpy()
        assert np.array_equal(tiles, expected.reshape(4, 8, 8))
    # a window still reads bool as the numbers 0 and 1
    assert torch_equal(volume_tiles(tmp_path / "v.npy", tile=8, window="0:1").images,
                       volume_tiles(tmp_path / "v.npy", tile=8).images)


@pytest.mark.parametrize(("array", "hint"), [
    (np.arange(128).reshape(2, 8, 8) * (1 + 2j), "save np.abs(volume) or one part (volume.real)"),
    (np.full((1, 8, 8), "a"), "save the intensities as a numeric array")])
@pytest.mark.parametrize("window", [None, "0:1"])
def test_complex_and_other_non_numeric_volumes_are_refused(
        tmp_path: Path, array: np.ndarray, hint: str, window: str | None) -> None:
    # complex with a window kept only the real part, said by a numpy warning at most
    path = tmp_path / "v.npy"
    np.save(path, array)
    assert _refusal(path, tile=8, window=window) == (
        f"volume {path}: holds {array.dtype} values; expected real numbers (bool, integer or "
        f"float); {hint}")


def test_the_pretrain_command_refuses_an_infinite_window_instead_of_black_tiles(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    array = _volume((2, 32, 32)).astype(np.float32)  # 32 tiles: enough for a --quick batch
    array[1, 3, 3] = np.inf
    np.save(tmp_path / "v.npy", array)
    base = ["pretrain", "--source", "volume", "--source-param", f"path={tmp_path / 'v.npy'}",
            "--source-param", "tile=8", "--source-param", "z_step=1", "--quick", "--quiet",
            "--epochs", "1"]
    code, err = _invoke([*base, "--source-param", "window=-1:inf", "--out",
                         str(tmp_path / "a")], capsys)
    assert (code, err) == (2, ("error: window: expected finite LOW:HIGH (e.g. 0:4095), got "
                               "'-1:inf'\n"))
    code, err = _invoke([*base, "--source-param", "window=0:250", "--out",
                         str(tmp_path / "b")], capsys)
    assert (code, err) == (2, (f"error: volume {tmp_path / 'v.npy'}: 1 infinite voxels (first "
                               f"at z=1, y=3, x=3); {_REPLACE}\n"))
