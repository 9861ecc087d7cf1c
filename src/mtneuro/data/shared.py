"""Loaders for the real X-ray data kept beside the project (``../shared/data``).

* :func:`load_masks`: human microstructure annotations, 32 patches of 128 x 128
  pixels per region (Prasad et al., Sci. Data 2020), mapped onto the internal
  (BossDB ``pixel_labels``) convention: 0 background, 1 vessel, 2 cell body,
  3 myelinated axon.
* :func:`load_slice`: the full-resolution slice z = 309 of the MTNeuro volume.

Files are located with :func:`mtneuro.data.paths.find_data_file` and verified
against their recorded SHA-256 before they are read.

Label convention of the mask files
----------------------------------
The files do not say which integer is which structure, so the mapping below was
established from the data (numbers from ``mask_label_evidence`` of
``tests/support/mask_evidence.py`` on the four files, re-derived by a test; "elongation" is the median ratio of the principal axes of a blob of at
least 10 pixels, 1 for a disc)::

    file label      ctx     str     trn     zi    mean blob area  elongation  largest blob
    1  fraction   0.000   0.173   0.571   0.000   924-2250 px     2.1-3.0     6774-15173 px
    2  fraction   0.017   0.019   0.031   0.059   21-26 px        1.68-1.85   136-1527 px
    3  fraction   0.026   0.033   0.025   0.055   34-62 px        1.37-1.53   100-272 px

* label 1 occurs only in striatum and thalamus, the two regions full of
  myelinated fibre bundles, in large elongated blobs: **axons**;
* label 3 forms the roundest, mid-sized, size-bounded blobs: **cell bodies**;
* label 2 forms thin, elongated, small blobs with a heavy size tail (capillaries
  plus the odd large vessel): **blood vessels**.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtneuro.data.checksums import verify_file
from mtneuro.data.paths import find_data_file
from mtneuro.errors import DataError
from mtneuro.registry import check_choice

MASK_REGIONS: tuple[str, ...] = ("ctx", "str", "trn", "zi")
#: file label -> internal label (0 bg, 1 vessel, 2 cell, 3 axon); evidence in the module docstring.
MASK_FILE_TO_INTERNAL = np.array([0, 3, 1, 2], dtype=np.uint8)
MASK_SHAPE = (32, 128, 128)

SLICE_FILE = "xray_slice/slice_z309.png"
SLICE_Z = 309
SLICE_SHAPE = (1420, 5805)


def mask_file(region: str) -> str:
    """Path of a region's mask file relative to the data root."""
    return f"xray_masks/masks_{check_choice('mask region', region, MASK_REGIONS)}.npz"


def load_masks_raw(region: str, root: str | Path | None = None) -> np.ndarray:
    """The verified file contents in the file's own label convention, int array (32, 128, 128)."""
    relative = mask_file(region)
    path = verify_file(find_data_file(relative, root), relative=relative)
    with np.load(path) as data:
        if "arr_0" not in data:
            raise DataError(f"{path}: expected key 'arr_0', found {sorted(data.files)}")
        masks = np.asarray(data["arr_0"])
    if masks.shape != MASK_SHAPE or masks.min() < 0 or masks.max() >= MASK_FILE_TO_INTERNAL.size:
        raise DataError(
            f"{path}: expected values 0..3 of shape {MASK_SHAPE}, got shape {masks.shape} "
            f"and range {masks.min()}..{masks.max()}"
        )
    return masks


def load_masks(region: str, root: str | Path | None = None) -> np.ndarray:
    """Microstructure annotations of one region in the internal convention.

    Args:
        region: ``ctx``, ``str``, ``trn`` (thalamus) or ``zi``.
        root: data root laid out like ``../shared/data``; default lookup otherwise.

    Returns:
        int64 array (32, 128, 128) of 1.17 um pixels: 0 background, 1 vessel,
        2 cell body, 3 myelinated axon.
    """
    return MASK_FILE_TO_INTERNAL[load_masks_raw(region, root)].astype(np.int64)


def load_slice(root: str | Path | None = None) -> np.ndarray:
    """The real slice z = 309, uint8 (1420, 5805) (y, x), 1.17 um pixels.

    Its gray values were quantised to 19 levels for publication.
    """
    from PIL import Image

    path = verify_file(find_data_file(SLICE_FILE, root), relative=SLICE_FILE)
    with Image.open(path) as image:
        array = np.asarray(image.convert("L"), dtype=np.uint8)
    if array.shape != SLICE_SHAPE:
        raise DataError(f"{path}: expected an image of {SLICE_SHAPE} (y, x), got {array.shape}")
    return array
