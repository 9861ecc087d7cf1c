"""A volume of your own, from one file, as 2D training tiles (``--source volume``).

Pre-training reads square tiles of every ``z_step``-th slice of a 3D array ``(z, y, x)``
(a 2D array is one slice): a NumPy ``.npy`` file (read without pickle, memory-mapped), a
multi-page TIFF (one page a slice) or a Zarr array folder. Tiles do not overlap; the edge
strips narrower than a tile are left out. 8-bit volumes are read as they are; any other
type needs the intensity ``window`` mapped to 0-255 (``LOW:HIGH``), since no one scaling
fits every 16-bit or float volume and a wrong one would train silently on clipped or black
images. NaN voxels are refused.

>>> import numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "vol.npy"
>>> np.save(path, np.zeros((4, 130, 200), dtype=np.uint8))
>>> volume_tiles(path, tile=64, z_step=2).images.shape   # 2 slices x 2 x 3 tiles
torch.Size([12, 1, 64, 64])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtneuro.errors import ConfigError, DataError

#: Smallest tile side (the smallest registry encoders need 8 px).
MIN_TILE = 8


def read_volume(path: str | Path) -> np.ndarray:
    """The array of ``path`` (``.npy``, ``.tif`` / ``.tiff`` stack, or a Zarr array folder),
    ``(z, y, x)``; a 2D array becomes one slice.

    Raises:
        DataError: a missing or unreadable file, another format, or not 2D / 3D.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"volume file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            array = _tiff_pages(path)
        elif path.is_dir():
            import zarr

            array = zarr.open_array(str(path), mode="r")
        else:
            raise DataError(f"volume {path}: expected a .npy file, a .tif / .tiff stack or a "
                            "Zarr array folder")
    except (OSError, ValueError) as err:
        raise DataError(f"volume {path}: cannot read it ({err})") from None
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise DataError(f"volume {path}: expected a 3D array (z, y, x) or one 2D slice, got "
                        f"shape {tuple(array.shape)} (a channel axis? save one channel)")
    return array


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
    if not low < high:
        raise ConfigError(f"window: expected LOW < HIGH, got {window!r}")
    return low, high


def to_eight_bit(slices: np.ndarray, window: tuple[float, float] | None, path: Path
                 ) -> np.ndarray:
    """``slices`` as uint8: as they are if 8-bit, else ``window`` mapped to 0-255 (clipped).

    Raises:
        DataError: NaN voxels, or a type other than uint8 without a window (the message
            gives the values' range as a window to start from).
    """
    values = np.asarray(slices)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise DataError(f"volume {path}: {int(np.isnan(values).sum())} NaN voxels; replace them "
                        "(e.g. by the background value) before pre-training")
    if window is None:
        if values.dtype == np.uint8:
            return values
        if values.min() == values.max():
            raise DataError(f"volume {path} holds one value ({values.min()}) in every voxel "
                            "read: nothing to train on")
        raise DataError(f"volume {path} holds {values.dtype} values ({values.min()} to "
                        f"{values.max()}); give the intensity window mapped to 0-255, e.g. "
                        f"--source-param window={values.min()}:{values.max()}, or a narrower "
                        "one around the tissue's range")
    low, high = window
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)


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

    if not isinstance(tile, int) or tile < MIN_TILE:
        raise ConfigError(f"tile: expected an int >= {MIN_TILE} (pixels), got {tile!r}")
    if not isinstance(z_step, int) or z_step < 1:
        raise ConfigError(f"z_step: expected an int >= 1, got {z_step!r}")
    path = Path(path)
    bounds = parse_window(window)
    array = read_volume(path)
    depth, height, width = array.shape
    rows, cols = height // tile, width // tile
    if rows == 0 or cols == 0:
        raise DataError(f"volume {path}: slices of {height} x {width} px are smaller than a "
                        f"tile of {tile} px; give --source-param tile={min(height, width)} or "
                        "less")
    # one slice at a time: a Zarr array takes no step, a memory-mapped file reads only these
    kept = np.stack([np.asarray(array[z, : rows * tile, : cols * tile])
                     for z in range(0, depth, z_step)])
    slices = to_eight_bit(kept, bounds, path)
    tiles = (slices.reshape(-1, rows, tile, cols, tile).transpose(0, 1, 3, 2, 4)
             .reshape(-1, 1, tile, tile))
    return ImageSet(torch.from_numpy(np.ascontiguousarray(tiles)),
                    torch.zeros(len(tiles), dtype=torch.int64), ("volume",),
                    f"volume:{path.name}")
