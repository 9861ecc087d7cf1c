"""A volume of your own, from one file, as 2D training tiles (``--source volume``).

Pre-training reads square tiles of every ``z_step``-th slice of a 3D array ``(z, y, x)``
(a 2D array is one slice): a NumPy ``.npy`` file (read without pickle, memory-mapped), a
multi-page TIFF (one page a slice) or a Zarr array folder. Tiles do not overlap; the edge
strips narrower than a tile are left out. 8-bit volumes are read as they are and bool ones
(masks) as 0 / 255; any other type needs the intensity ``window`` mapped to 0-255
(``LOW:HIGH``), since no one scaling fits every 16-bit or float volume and a wrong one would
train silently on clipped or black images. NaN and infinite voxels, complex or other
non-numeric values, empty volumes and volumes of one value (before or after the window) are
refused: each would train on nothing, or fail far from here; so are a TIFF hyperstack, whose
channels or time points would train as slices (:mod:`~mtneuro.data.volume_tiff`), and
damaged files (a cut TIFF or .npy, a Zarr chunk that does not decode), in one line each.
The window is applied a slab of slices at a time (:mod:`~mtneuro.data.volume_window`), each
straight into the tiles, so a 16-bit volume takes about its tiles' memory, not 8 bytes a voxel.

>>> import numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "vol.npy"
>>> np.save(path, np.random.default_rng(0).integers(0, 256, (4, 130, 200), dtype=np.uint8))
>>> volume_tiles(path, tile=64, z_step=2).images.shape   # 2 slices x 2 x 3 tiles
torch.Size([12, 1, 64, 64])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.data.numpy_files import numpy_format
from mtneuro.data.volume_tiff import tiff_pages
from mtneuro.data.volume_window import (
    map_eight_bit,
    parse_window,
    range_window,
    source_param,
    to_eight_bit,
)
from mtneuro.data.volume_zarr import open_zarr
from mtneuro.errors import ConfigError, DataError

#: Re-exported: the window's parts are imported from here (the preview, the tests).
__all__ = ["MIN_TILE", "TileLayout", "array_tiles", "check_tiling", "parse_window",
           "range_window", "read_volume", "tile_layout", "to_eight_bit", "volume_tiles"]

#: Smallest tile side (the smallest registry encoders need 8 px).
MIN_TILE = 8


def read_volume(path: str | Path) -> np.ndarray:
    """The array of ``path`` (``.npy``, ``.tif`` / ``.tiff`` stack, or a Zarr array folder),
    ``(z, y, x)``; a 2D array becomes one slice.

    Raises:
        DataError: a missing or unreadable file, another format, not 2D / 3D, no voxels, or
            values other than real numbers (bool, integer or float).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"volume file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = _npy_memmap(path)
        elif suffix in (".tif", ".tiff"):
            array = tiff_pages(path)
        elif path.is_dir():
            array = open_zarr(path)
        else:
            raise DataError(f"volume {path}: expected a .npy file, a .tif / .tiff stack or a "
                            "Zarr array folder")
    except (OSError, ValueError) as err:
        raise DataError(f"volume {path}: cannot read it ({err})") from None
    if array.ndim not in (2, 3):
        raise DataError(f"volume {path}: expected a 3D array (z, y, x) or one 2D slice, got "
                        f"shape {tuple(array.shape)} (a channel axis? save one channel)")
    if array.size == 0:
        raise DataError(f"volume {path}: holds no voxels (shape {tuple(array.shape)}); expected "
                        f"at least one slice of at least {MIN_TILE} x {MIN_TILE} px")
    _check_real_numbers(array.dtype, path)
    return array[None] if array.ndim == 2 else array


def _npy_memmap(path: Path) -> np.ndarray:
    if numpy_format(path) != ".npy":  # checked first: np.load would talk of pickles
        raise DataError(f"volume {path}: cannot read it: not a NumPy .npy file (it does not "
                        "start as one; a text or other file?)")
    _check_npy_length(path)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _check_npy_length(path: Path) -> None:
    """A cut .npy (a copy or download stopped early) fails to memory-map as "mmap length is
    greater than file size": named here as what it is, with the sizes."""
    fmt = np.lib.format
    with open(path, "rb") as handle:
        version = fmt.read_magic(handle)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else \
            fmt.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        expected = handle.tell() + math.prod(shape) * dtype.itemsize
    found = path.stat().st_size
    if found < expected:
        raise DataError(f"volume {path}: a truncated .npy file (expected {expected:,} bytes for "
                        f"shape {shape} {dtype}, found {found:,}); copy or save it again")


def _check_real_numbers(dtype: np.dtype, path: Path) -> None:
    # complex would lose its imaginary part in the window's cast with only a numpy warning;
    # strings, dates and records have no intensity at all
    if dtype.kind in "biuf":
        return
    hint = ("; save np.abs(volume) or one part (volume.real)" if dtype.kind == "c"
            else "; save the intensities as a numeric array")
    raise DataError(f"volume {path}: holds {dtype} values; expected real numbers (bool, "
                    f"integer or float){hint}")


def check_tiling(tile: Any, z_step: Any) -> None:
    """``tile`` and ``z_step`` as :func:`volume_tiles` takes them.

    Raises:
        ConfigError: ``tile`` not an int >= :data:`MIN_TILE`, or ``z_step`` not an int >= 1.
    """
    if not isinstance(tile, int) or tile < MIN_TILE:
        raise ConfigError(f"tile: expected an int >= {MIN_TILE} (pixels), got {tile!r}")
    if not isinstance(z_step, int) or z_step < 1:
        raise ConfigError(f"z_step: expected an int >= 1, got {z_step!r}")


@dataclass(frozen=True)
class TileLayout:
    """Where pre-training's tiles come from: ``rows`` x ``cols`` whole ``tile``-px tiles from
    the top-left corner of each of ``slices`` (every ``z_step``-th), the edge strips narrower
    than a tile left out."""

    slices: range
    rows: int
    cols: int
    tile: int

    @property
    def count(self) -> int:
        """The number of tiles pre-training gets."""
        return len(self.slices) * self.rows * self.cols

    def view(self, array: Any) -> Any:
        """The tiled area of every slice read, ``(len(slices), rows * tile, cols * tile)``,
        not read yet: a view of a NumPy array (a memory-mapped file reads what is used of
        it), else :class:`SlicesOf` (a Zarr array, read a run of slices at a time)."""
        height, width, z = self.rows * self.tile, self.cols * self.tile, self.slices
        if isinstance(array, np.ndarray):
            return array[z.start:z.stop:z.step, :height, :width]
        return SlicesOf(array, z, height, width)

    def read(self, array: Any) -> np.ndarray:
        """The tiled area of every slice read, ``(len(slices), rows * tile, cols * tile)``: a
        view of a NumPy array (a memory-mapped file stays on disk until used), else read."""
        view = self.view(array)
        return view if isinstance(view, np.ndarray) else view[:]

    def cut(self, slices: np.ndarray) -> np.ndarray:
        """``slices`` as :meth:`read` gives them as tiles ``(n * rows * cols, 1, tile, tile)``:
        slice by slice, row by row."""
        tile = self.tile
        return (slices.reshape(-1, self.rows, tile, self.cols, tile).transpose(0, 1, 3, 2, 4)
                .reshape(-1, 1, tile, tile))


@dataclass(frozen=True)
class SlicesOf:
    """Slices ``slices`` of ``array`` (a Zarr array), cropped to ``height`` x ``width``;
    ``[a:b]`` reads the a-th to b-th of them, in one request."""

    array: Any
    slices: range
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.slices), self.height, self.width

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.array.dtype)

    def __getitem__(self, which: slice) -> np.ndarray:
        z = self.slices[which]
        return np.asarray(self.array[z.start:z.stop:z.step, : self.height, : self.width])


def tile_layout(path: Path, shape: tuple[int, ...], tile: int, z_step: int, *,
                name: str | None = None,
                param: Callable[[str, Any], str] = source_param) -> TileLayout:
    """The :class:`TileLayout` of a volume of ``shape`` ``(z, y, x)``.

    Raises:
        DataError: slices smaller than a tile (named ``name``, default ``volume PATH``; what
            to give said by ``param``, as :func:`~mtneuro.data.volume_window.map_eight_bit`).
    """
    name = name or f"volume {path}"
    depth, height, width = shape
    too_small = [axis for axis, size in (("y", height), ("x", width)) if size < MIN_TILE]
    if too_small:  # no tile fits: suggesting one under MIN_TILE would only be refused
        raise DataError(f"{name}: slices of {height} x {width} px are smaller than the "
                        f"smallest tile ({MIN_TILE} px) in {' and '.join(too_small)}; expected "
                        f"slices of at least {MIN_TILE} x {MIN_TILE} px")
    rows, cols = height // tile, width // tile
    if rows == 0 or cols == 0:
        raise DataError(f"{name}: slices of {height} x {width} px are smaller than a "
                        f"tile of {tile} px; give {param('tile', min(height, width))} or less")
    return TileLayout(range(0, depth, z_step), rows, cols, tile)


def volume_tiles(path: str | Path, *, tile: int = 64, z_step: int = 1,
                 window: str | None = None) -> Any:
    """Non-overlapping ``tile`` x ``tile`` tiles of every ``z_step``-th slice of the volume
    at ``path``, as a :class:`~mtneuro.data.vision.ImageSet` (uint8 ``(N, 1, tile, tile)``,
    one class: the volume has no labels).

    Raises:
        ConfigError: a bad ``tile``, ``z_step`` or ``window``.
        DataError: see :func:`read_volume` and :func:`to_eight_bit`; slices smaller than a
            tile.
    """
    from mtneuro.data.vision import ImageSet

    check_tiling(tile, z_step)
    path = Path(str(path))  # `--source-param path=123` arrives as a number
    bounds = parse_window(window)
    tiles = array_tiles(read_volume(path), path, tile=tile, z_step=z_step, window=bounds)
    return ImageSet(torch.from_numpy(tiles), torch.zeros(len(tiles), dtype=torch.int64),
                    ("volume",), f"volume:{path.name}")


def array_tiles(array: Any, path: Path, *, tile: int, z_step: int,
                window: tuple[float, float] | None, name: str | None = None,
                param: Callable[[str, Any], str] = source_param) -> np.ndarray:
    """The uint8 tiles ``(N, 1, tile, tile)`` of ``array`` ``(z, y, x)`` (checked by
    :func:`read_volume` or as :mod:`mtneuro.data.image_arrays` checks one in memory), as
    :func:`volume_tiles` cuts them; ``name`` and ``param`` as :func:`tile_layout` takes them.

    Raises:
        DataError: see :func:`tile_layout` and
            :func:`~mtneuro.data.volume_window.map_eight_bit`.
    """
    layout = tile_layout(path, array.shape, tile, z_step, name=name, param=param)
    # each slab of slices goes straight to its tiles: neither the volume's values nor its
    # 8-bit slices are ever held whole beside the tiles
    tiles = np.empty((layout.count, 1, tile, tile), dtype=np.uint8)
    per_slice = layout.rows * layout.cols

    def store(which: slice, slab: np.ndarray) -> None:
        tiles[which.start * per_slice: which.stop * per_slice] = layout.cut(slab)

    map_eight_bit(layout.view(array), window, path, store, z_step=z_step, name=name,
                  param=param)
    return tiles
