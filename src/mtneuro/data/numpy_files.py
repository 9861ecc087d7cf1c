"""NumPy files read without unpickling, and their arrays checked before use.

A recording file comes from a download or a colleague: it may be no NumPy file at all,
hold Python objects (loading those would run code), be cut short, or carry NaNs. Each of
these fails here in one line naming the file and the key.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from mtneuro.errors import DataError

#: The first bytes of each NumPy file format. Without them ``np.load`` falls back to
#: unpickling and says so, which is no help for a text or other file.
MAGIC = {".npz": b"PK\x03\x04", ".npy": b"\x93NUMPY"}


def numpy_format(path: Path) -> str | None:
    """``".npy"`` or ``".npz"`` by the file's first bytes (whatever its name), else ``None``."""
    with open(path, "rb") as handle:
        start = handle.read(max(map(len, MAGIC.values())))
    return next((suffix for suffix, magic in MAGIC.items() if start.startswith(magic)), None)


def unreadable(path: Path, err: OSError) -> DataError:
    """The one-line error for a file the operating system will not let us read."""
    fix = ("fix its permissions (e.g. chmod u+r)" if isinstance(err, PermissionError)
           else "check the file and its disk")
    return DataError(f"{path}: cannot be read ({err.strerror or err}); {fix}")


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` or the one array of a ``.npy`` (under key ``""``), read
    without unpickling; a file that is no NumPy file, holds Python objects or is damaged
    fails in one line."""
    try:
        found = numpy_format(path)
    except OSError as err:
        raise unreadable(path, err) from None
    if found != (".npz" if path.suffix == ".npz" else ".npy"):
        what = (f"it is a NumPy {found} file named {path.suffix}; rename it or give the "
                f"expected layout" if found
                else "it does not start as one; a text or other file?")
        raise DataError(f"{path}: not a readable NumPy {path.suffix} file ({what})")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"": loaded}
        with loaded as npz:
            arrays, objects = {}, []
            for key in npz.files:  # each member alone: the error names every object array
                try:
                    arrays[key] = npz[key]
                except ValueError as err:
                    if "pickle" not in str(err):
                        raise
                    objects.append(key)
        if objects:
            raise DataError(object_arrays(path, objects))
        for key, value in arrays.items():
            if not isinstance(value, np.ndarray):  # numpy hands back a non-.npy member's bytes
                raise DataError(f"{path}: member {key!r} is not a .npy array (np.savez stores "
                                "each array as NAME.npy); save the arrays with np.savez")
        return arrays
    except ValueError as err:
        if "pickle" in str(err):
            raise DataError(object_arrays(path, [])) from None
        raise DataError(f"{path}: not a readable NumPy {path.suffix} file ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error,
            NotImplementedError) as err:  # a damaged zip header can ask for any feature
        raise DataError(f"{path}: not a readable NumPy {path.suffix} file ({err})") from None


def object_arrays(path: Path, keys: list[str]) -> str:
    """The one line refusing the object arrays ``keys`` of ``path`` (none named: a ``.npy``),
    saying how to save each as plain data: ``class_names`` (an object array as pandas
    ``.values`` gives it) as a string array, any other as numbers."""
    where = f"{path}: {', '.join(keys)}" if keys else str(path)
    others = [k for k in keys if k != "class_names"]
    fixes = (["save class_names as a string array (np.asarray(names, dtype=str))"]
             if "class_names" in keys else [])
    if others or not keys:
        fixes.append(f"save {', '.join(others) or 'it'} as plain numeric arrays")
    held = "hold Python objects (object arrays)" if len(keys) > 1 else (
        "holds Python objects (an object array)")
    return f"{where}: {held}, which mtneuro does not unpickle; {'; '.join(fixes)}"


def checked_numeric(
    array: np.ndarray, path: Path, key: str, *, integer: bool = False
) -> np.ndarray:
    """``array`` checked: numeric, non-empty, finite and, if ``integer``, whole numbers."""
    where = checked_real(array, path, key)
    if array.size == 0:
        raise DataError(f"{where}: is empty (shape {array.shape})")
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)[0].tolist()
        raise DataError(f"{where}: {int((~finite).sum())} of {array.size} values are NaN or "
                        f"infinite (first at index {bad}); clean the file first")
    if integer and not np.array_equal(array, np.round(array)):
        bad = np.argwhere(array != np.round(array))[0].tolist()
        raise DataError(f"{where}: expected integers, got {array[tuple(bad)].item()} at "
                        f"index {bad}")
    if integer:
        _check_int64_range(array, where)
    return array


def _where(path: Path, key: str) -> str:
    """How errors name an array: ``path: key``, or the path alone (a ``.npy`` file)."""
    return f"{path}: {key}" if key else str(path)


def checked_real(array: np.ndarray, path: Path, key: str) -> str:
    """Refuse an ``array`` of other than real numbers (strings, objects, complex); returns
    how errors name it (:func:`_where`)."""
    where = _where(path, key)
    real = np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)
    if not (real or array.dtype == bool):
        raise DataError(f"{where}: expected real numbers, got dtype {array.dtype}")
    return where


def _check_int64_range(array: np.ndarray, where: str) -> None:
    """Whole numbers beyond int64 would wrap (a float 1e30 casts to int64's minimum, and
    equal ids would look like one trial): refused before the cast."""
    info = np.iinfo(np.int64)
    if array.dtype.kind == "f":
        # 2.0**63 is int64's maximum + 1, exactly representable, unlike the maximum itself
        outside = (array < -(2.0 ** 63)) | (array >= 2.0 ** 63)
    elif array.dtype == np.uint64:
        outside = array > np.uint64(info.max)
    else:
        return
    if outside.any():
        bad = np.argwhere(outside)[0].tolist()
        raise DataError(f"{where}: {array[tuple(bad)].item():g} at index {bad} is beyond the "
                        f"64-bit integer range ({info.min}..{info.max}); expected integers")


def non_negative(array: np.ndarray, path: Path, key: str, what: str) -> np.ndarray:
    """``array`` refused where a value is negative (``what``: counts or rates cannot be)."""
    negative = array < 0
    if negative.any():
        bad = np.argwhere(negative)[0].tolist()
        raise DataError(f"{_where(path, key)}: {int(negative.sum())} of {array.size} values "
                        f"are negative (first {array[tuple(bad)].item():g} at index {bad}); "
                        f"expected {what} (>= 0)")
    return array


def as_float32(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``array`` (checked by :func:`checked_numeric`) as float32, refused where a value is too
    large for it: the cast would make it infinite and the failure surface far from here."""
    with np.errstate(over="ignore"):  # said below, naming the file
        out = np.asarray(array, dtype=np.float32)
    if not np.isfinite(out).all():
        bad = np.argwhere(~np.isfinite(out))[0].tolist()
        raise DataError(f"{_where(path, key)}: {array[tuple(bad)].item():g} at index {bad} is "
                        f"beyond float32 (at most {np.finfo(np.float32).max:.3g} in magnitude); "
                        "rescale the values")
    return out
