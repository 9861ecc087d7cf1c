"""A Zarr array folder as a ``--source volume`` stack, its chunks read when indexed.

zarr reads a chunk only when a slice needs it, so a damaged chunk fails there, as whatever
its codec raised (RuntimeError from zstd or blosc, ``zlib.error``, a ValueError reshaping
a short chunk): :class:`ZarrVolume` names the file and the slices instead. A folder that
is no Zarr array (a folder of PNG slices, a group) is refused naming what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.errors import DataError

#: The files whose presence makes a folder a Zarr node (v3, v2 array, v2 group).
ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup")
#: Image files that a folder of slices holds (read by ``--source folder``, not here)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
#: Seconds to let a failed read's other chunk reads end (see :func:`_settle_reads`).
SETTLE_S = 10.0
#: What ``--source volume`` reads, for the refusals
VOLUME_FORMATS = "one .npy file, one multi-page .tif / .tiff stack or a Zarr array folder"


class ZarrVolume:
    """A Zarr array read as ``(z, y, x)`` (a 2-D array as one slice) whose reads name the
    volume when a chunk cannot be decoded. Indexing returns NumPy arrays."""

    def __init__(self, array: Any, path: Path) -> None:
        self._array = array
        self._flat = len(array.shape) == 2
        self.path = path
        self.shape: tuple[int, ...] = ((1,) if self._flat else ()) + tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        try:
            if not self._flat:
                return np.asarray(self._array[key])
            plane = np.asarray(self._array[key[1:]])  # zarr takes no new axis: added here
            return plane if isinstance(key[0], (int, np.integer)) else plane[None][key[0]]
        except MemoryError:
            raise
        except Exception as err:  # noqa: BLE001 - each codec raises its own kind
            _settle_reads()
            raise DataError(f"volume {self.path}: cannot read {_slices(key[0])} "
                            f"({type(err).__name__}: {err}); a damaged chunk file? write the "
                            "array again, or save the volume as .npy") from None


def _settle_reads() -> None:
    """zarr decodes a request's chunks as tasks on its own event loop and stops waiting at
    the first failure, leaving the others running; the process ending then prints "Task was
    destroyed but it is pending!" for each, after the one-line error. They end first."""
    try:
        from zarr.core.sync import sync
    except ImportError:  # another zarr layout: the noise is all that is lost
        return

    async def others_done() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        # gathered, so their own failures are taken and not printed as never retrieved
        await asyncio.wait_for(asyncio.gather(*others, return_exceptions=True), SETTLE_S)

    # a cosmetic wait: the read's own error is what counts, whatever this one meets
    with contextlib.suppress(Exception):
        sync(others_done())


def _slices(index: Any) -> str:
    if isinstance(index, slice):
        step = f":{index.step}" if index.step not in (None, 1) else ""
        return f"slices z={index.start or 0}:{'' if index.stop is None else index.stop}{step}"
    return f"slice z={index}"


def open_zarr(path: Path) -> ZarrVolume:
    """The Zarr array in folder ``path``.

    Raises:
        DataError: no Zarr array there (a folder of images, a group: its arrays named) or
            invalid array metadata (naming the metadata file).
    """
    import zarr

    if not any((path / name).is_file() for name in ZARR_METADATA):
        raise _not_zarr(path)
    try:
        return ZarrVolume(zarr.open_array(str(path), mode="r"), path)
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


def _not_zarr(path: Path) -> DataError:
    """A folder without Zarr metadata: most often one of image slices, which is named."""
    images = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if images:
        kinds = ", ".join(sorted({p.suffix.lower() for p in images}))
        return DataError(f"volume {path}: a folder of {len(images)} images ({kinds}), not a "
                         f"volume; --source volume reads {VOLUME_FORMATS} (stack the slices "
                         "into one), and --source folder reads folders of images "
                         "(root/<class>/<image>)")
    return DataError(f"volume {path}: a folder without Zarr metadata ({' or '.join(ZARR_METADATA)})"
                     f"; expected {VOLUME_FORMATS}")


def _invalid_metadata(path: Path, err: Exception) -> DataError:
    meta = next((path / n for n in ("zarr.json", ".zarray") if (path / n).is_file()), path)
    what = f"missing field {err}" if isinstance(err, KeyError) else str(err)
    return DataError(f"volume {path}: invalid Zarr array metadata in {meta} ({what}); write it "
                     "again with zarr, or save the volume as .npy")
