"""A volume of your own, from one file, as 2D training tiles (``--source volume``).

Pre-training reads square tiles of every ``z_step``-th slice of a 3D array ``(z, y, x)``
(a 2D array is one slice): a NumPy ``.npy`` file (read without pickle, memory-mapped), a
multi-page TIFF (one page a slice) or a Zarr array folder. Tiles do not overlap; the edge
strips narrower than a tile are left out. 8-bit volumes are read as they are and bool ones
(masks) as 0 / 255; any other type needs the intensity ``window`` mapped to 0-255
(``LOW:HIGH``), since no one scaling fits every 16-bit or float volume and a wrong one would
train silently on clipped or black images. NaN and infinite voxels, complex or other
non-numeric values, empty volumes and volumes of one value (before or after the window) are
refused: each would train on nothing, or fail far from here.

>>> import numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "vol.npy"
>>> np.save(path, np.random.default_rng(0).integers(0, 256, (4, 130, 200), dtype=np.uint8))
>>> volume_tiles(path, tile=64, z_step=2).images.shape   # 2 slices x 2 x 3 tiles
torch.Size([12, 1, 64, 64])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.data.numpy_files import numpy_format
from mtneuro.errors import ConfigError, DataError

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
            array = _tiff_pages(path)
        elif path.is_dir():
            array = _zarr_array(path)
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


def _zarr_array(path: Path) -> Any:
    import zarr

    try:
        return zarr.open_array(str(path), mode="r")
    except (KeyError, TypeError, AttributeError) as err:
        # zarr reads its metadata field by field: a field missing or of the wrong type fails
        # as whatever the lookup raised
        raise _invalid_metadata(path, err) from None
    except (OSError, ValueError) as err:
        try:  # a group: name the arrays it holds, one of which is meant
            names = sorted(zarr.open_group(str(path), mode="r").array_keys())
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            raise err from None
        held = ", ".join(f"{path / name}" for name in names[:5]) or "none"
        raise DataError(f"volume {path}: a Zarr group, not an array; give the path of one of "
                        f"its arrays ({held})") from None


def _invalid_metadata(path: Path, err: Exception) -> DataError:
    meta = next((path / n for n in ("zarr.json", ".zarray") if (path / n).is_file()), path)
    what = f"missing field {err}" if isinstance(err, KeyError) else str(err)
    return DataError(f"volume {path}: invalid Zarr array metadata in {meta} ({what}); write it "
                     "again with zarr, or save the volume as .npy")


def _npy_memmap(path: Path) -> np.ndarray:
    if numpy_format(path) != ".npy":  # checked first: np.load would talk of pickles
        raise DataError(f"volume {path}: cannot read it: not a NumPy .npy file (it does not "
                        "start as one; a text or other file?)")
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _check_real_numbers(dtype: np.dtype, path: Path) -> None:
    # complex would lose its imaginary part in the window's cast with only a numpy warning;
    # strings, dates and records have no intensity at all
    if dtype.kind in "biuf":
        return
    hint = ("; save np.abs(volume) or one part (volume.real)" if dtype.kind == "c"
            else "; save the intensities as a numeric array")
    raise DataError(f"volume {path}: holds {dtype} values; expected real numbers (bool, "
                    f"integer or float){hint}")


def _tiff_pages(path: Path) -> np.ndarray:
    from PIL import Image, ImageSequence

    with Image.open(path) as img:
        pages = [np.asarray(page) for page in ImageSequence.Iterator(img)]
    if any(page.shape != pages[0].shape for page in pages):
        raise DataError(f"volume {path}: its pages differ in size")
    return np.stack(pages)


def parse_window(window: str | None) -> tuple[float, float] | None:
    """``"LOW:HIGH"`` as two floats, LOW < HIGH (None: none given).

    Raises:
        ConfigError: another form, naming the key and the value.
    """
    if window is None:
        return None
    try:
        low, high = (float(part) for part in str(window).split(":"))
    except ValueError:
        raise ConfigError(f"window: expected LOW:HIGH (e.g. 0:4095), got {window!r}") from None
    # an infinite end makes the scale 255 / inf = 0: every tile black, and training goes on
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ConfigError(f"window: expected finite LOW:HIGH (e.g. 0:4095), got {window!r}")
    if not low < high:
        raise ConfigError(f"window: expected LOW < HIGH, got {window!r}")
    return low, high


def to_eight_bit(slices: np.ndarray, window: tuple[float, float] | None, path: Path, *,
                 z_step: int = 1) -> np.ndarray:
    """``slices`` as uint8: as they are if 8-bit, bool as 0 / 255, else ``window`` mapped to
    0-255 (clipped). ``z_step``: slice ``i`` of ``slices`` is slice ``i * z_step`` of the
    volume (for the index a refusal names).

    Raises:
        DataError: NaN or infinite voxels, one value in every voxel (before or after the
            window), or a type other than uint8 / bool without a window (the message gives
            the values' range as a window to start from).
    """
    values = np.asarray(slices)
    _refuse_non_finite(values, path, z_step)
    lowest, highest = values.min(), values.max()
    if lowest == highest:
        raise DataError(f"volume {path} holds one value ({lowest}) in every voxel read: "
                        "nothing to train on")
    if window is None:
        if values.dtype == np.uint8:
            return values
        if values.dtype == np.bool_:  # a mask: one scaling fits every one
            return values.astype(np.uint8) * np.uint8(255)
        raise DataError(f"volume {path} holds {values.dtype} values ({lowest} to {highest}); "
                        "give the intensity window mapped to 0-255, e.g. --source-param "
                        f"window={range_window(lowest, highest)}, or a narrower one around the "
                        "tissue's range")
    low, high = window
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    eight_bit = np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
    if eight_bit.min() == eight_bit.max():  # a window beside the values: all black or white
        raise DataError(f"volume {path}: window {low:g}:{high:g} maps every voxel read to "
                        f"{eight_bit.min()} (the values run {lowest} to {highest}); give a "
                        f"window that overlaps them, e.g. --source-param "
                        f"window={range_window(lowest, highest)}")
    return eight_bit


def range_window(lowest: Any, highest: Any) -> str:
    """The window ``LOW:HIGH`` spanning the values read, as the refusals suggest it: the one
    place its form is written, so a preview names the very window an error would."""
    return f"{lowest}:{highest}"


def _refuse_non_finite(values: np.ndarray, path: Path, z_step: int) -> None:
    if values.dtype.kind != "f":
        return
    for what, is_bad in (("NaN", np.isnan), ("infinite", np.isinf)):
        bad = is_bad(values)
        if bad.any():
            z, y, x = np.unravel_index(int(np.argmax(bad)), bad.shape)
            raise DataError(f"volume {path}: {int(bad.sum())} {what} voxels (first at z="
                            f"{int(z) * z_step}, y={int(y)}, x={int(x)}); replace them (e.g. by "
                            "the background value) before pre-training")


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

    def read(self, array: Any) -> np.ndarray:
        """The tiled area of every slice read, ``(len(slices), rows * tile, cols * tile)``."""
        # one slice at a time: a Zarr array takes no step, a memory-mapped file reads only these
        return np.stack([np.asarray(array[z, : self.rows * self.tile, : self.cols * self.tile])
                         for z in self.slices])

    def cut(self, slices: np.ndarray) -> np.ndarray:
        """``slices`` as :meth:`read` gives them as tiles ``(n * rows * cols, 1, tile, tile)``:
        slice by slice, row by row."""
        tile = self.tile
        return (slices.reshape(-1, self.rows, tile, self.cols, tile).transpose(0, 1, 3, 2, 4)
                .reshape(-1, 1, tile, tile))


def tile_layout(path: Path, shape: tuple[int, ...], tile: int, z_step: int) -> TileLayout:
    """The :class:`TileLayout` of a volume of ``shape`` ``(z, y, x)``.

    Raises:
        DataError: slices smaller than a tile (``path`` names the volume).
    """
    depth, height, width = shape
    too_small = [axis for axis, size in (("y", height), ("x", width)) if size < MIN_TILE]
    if too_small:  # no tile fits: suggesting one under MIN_TILE would only be refused
        raise DataError(f"volume {path}: slices of {height} x {width} px are smaller than the "
                        f"smallest tile ({MIN_TILE} px) in {' and '.join(too_small)}; expected "
                        f"slices of at least {MIN_TILE} x {MIN_TILE} px")
    rows, cols = height // tile, width // tile
    if rows == 0 or cols == 0:
        raise DataError(f"volume {path}: slices of {height} x {width} px are smaller than a "
                        f"tile of {tile} px; give --source-param tile={min(height, width)} or "
                        "less")
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
    array = read_volume(path)
    layout = tile_layout(path, array.shape, tile, z_step)
    tiles = layout.cut(to_eight_bit(layout.read(array), bounds, path, z_step=z_step))
    return ImageSet(torch.from_numpy(np.ascontiguousarray(tiles)),
                    torch.zeros(len(tiles), dtype=torch.int64), ("volume",),
                    f"volume:{path.name}")
