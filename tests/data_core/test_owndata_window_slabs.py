"""An own volume's window is applied a slab of slices at a time (own-data audit, item 1): the
8-bit tiles are those of the whole-volume float64 mapping, .5 boundaries included, but no
float64 copy of the volume is ever made, and a memory-mapped file stays on disk until used."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from mtneuro.data import volume_window
from mtneuro.data.volume_file import read_volume, tile_layout, to_eight_bit, volume_tiles


def _reference(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The mapping as it was, on the whole volume at once in float64."""
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)


def _volumes() -> list[tuple[np.ndarray, tuple[float, float]]]:
    rng = np.random.default_rng(0)
    ramp = np.arange(5 * 40 * 48).reshape(5, 40, 48) % 4001  # 2000 -> 127.5, 1000 -> 63.75
    floats = rng.normal(0, 100, (5, 40, 48)).astype(np.float32)
    halves = (np.arange(5 * 40 * 48).reshape(5, 40, 48) % 512 / 2).astype(np.float32)
    return [(ramp.astype(np.uint16), (0, 4000)), (ramp.astype(np.uint16), (13, 3507)),
            (floats, (-220.5, 216.25)), (halves, (0, 255)), (halves, (0.5, 250.5)),
            ((ramp - 2000).astype(np.int32), (-1999.5, 1500))]


@pytest.mark.parametrize("slab_voxels", [7, 40 * 48 + 1, 2**22],
                         ids=["rows-of-a-slice", "one-slice-slabs", "whole"])
def test_slabs_map_every_voxel_as_the_whole_volume_float64_mapping(monkeypatch, slab_voxels):
    # float32 would round some of these .5 boundaries the other way (np.rint): float64 stays
    monkeypatch.setattr(volume_window, "SLAB_VOXELS", slab_voxels)
    for values, (low, high) in _volumes():
        assert np.array_equal(to_eight_bit(values, (low, high), "v.npy"),
                              _reference(values, low, high)), (values.dtype, low, high)


def test_volume_tiles_are_the_reference_tiles_slab_by_slab(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(volume_window, "SLAB_VOXELS", 100)
    values, (low, high) = _volumes()[0]
    np.save(tmp_path / "v.npy", values)
    tiles = volume_tiles(tmp_path / "v.npy", tile=16, z_step=2, window=f"{low}:{high}")
    expected = _reference(values[::2, :32, :48], low, high)
    expected = expected.reshape(3, 2, 16, 3, 16).transpose(0, 1, 3, 2, 4).reshape(-1, 1, 16, 16)
    assert np.array_equal(tiles.images.numpy(), expected)


def test_windowing_a_16_bit_volume_holds_no_float64_copy_of_it(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(volume_window, "SLAB_VOXELS", 2**14)
    values = np.random.default_rng(0).integers(0, 4096, (32, 256, 256), dtype=np.uint16)
    np.save(tmp_path / "v.npy", values)
    del values
    tiles_bytes = 32 * 256 * 256
    tracemalloc.start()
    try:
        tiles = volume_tiles(tmp_path / "v.npy", tile=64, window="0:4095")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tiles.images.numel() == tiles_bytes
    # the tiles and a slab: the whole-volume mapping took 8 bytes a voxel, several times over
    assert peak < 1.5 * tiles_bytes, f"peak {peak / 2**20:.1f} MiB"


def test_a_memory_mapped_volume_is_read_as_a_view_not_a_copy(tmp_path: Path):
    values = np.arange(4 * 16 * 24, dtype=np.uint16).reshape(4, 16, 24)
    np.save(tmp_path / "v.npy", values)
    array = read_volume(tmp_path / "v.npy")
    layout = tile_layout(tmp_path / "v.npy", array.shape, 8, 2)
    read = layout.read(array)
    assert isinstance(read, np.memmap) and np.shares_memory(read, array)
    assert np.array_equal(read, values[::2, :16, :24])


def test_nan_and_one_value_refusals_still_see_the_whole_volume(tmp_path: Path, monkeypatch):
    from mtneuro.errors import DataError

    monkeypatch.setattr(volume_window, "SLAB_VOXELS", 8 * 8)
    values = np.zeros((4, 8, 8), dtype=np.float32)
    values[1, 2, 3] = values[3, 0, 0] = np.inf
    values[2, 4, 5] = np.nan
    with pytest.raises(DataError, match=r"1 NaN voxels \(first at z=4, y=4, x=5\)"):
        to_eight_bit(values, (0, 1), "v.npy", z_step=2)
    values[2, 4, 5] = 0
    with pytest.raises(DataError, match=r"2 infinite voxels \(first at z=1, y=2, x=3\)"):
        to_eight_bit(values, (0, 1), "v.npy")
    with pytest.raises(DataError, match=r"one value \(7\) in every voxel"):
        to_eight_bit(np.full((3, 8, 8), 7, np.uint16), (0, 10), "v.npy")
