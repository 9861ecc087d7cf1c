"""``slice``: the real slice z = 309 of the MTNeuro volume as a one-slice volume.

A user option for a real-image smoke run offline. It has only the ``image``
channel: no region or microstructure labels were published for this slice.
Index 0 of the source's z axis is slice 309 of the real volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mtneuro.data.checksums import KNOWN_SHA256
from mtneuro.data.paths import check_root, find_data_file
from mtneuro.data.shared import SLICE_FILE, SLICE_SHAPE, SLICE_Z, load_slice
from mtneuro.data.sources.base import SOURCES, VolumeSource

Range = tuple[int, int]


def _checked_root(root: str | Path | None) -> None:
    # a mistyped root fails here rather than letting the lookup read another root's slice
    check_root(root, "root", f"a data root holding {SLICE_FILE}")


@SOURCES.register("slice")
class SliceSource(VolumeSource):
    """The real slice, shape (1, 1420, 5805), channel ``image`` (uint8).

    Args:
        root: a data root ``mtneuro data download xray-slice --root`` filled; default lookup
            (``$MTNEURO_DATA``, user cache, packaged samples) when ``None``.

    Raises:
        DataError: the root does not exist or the file is missing.
        ChecksumError: the file does not match its recorded SHA-256.
    """

    name = "slice"

    def __init__(self, root: str | Path | None = None) -> None:
        _checked_root(root)
        super().__init__((1, *SLICE_SHAPE), channels=("image",))
        self.root = None if root is None else str(root)
        self.path = find_data_file(SLICE_FILE, self.root)
        self._image = load_slice(self.root)[None]  # verified against its SHA-256
        self._image.setflags(write=False)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        # the constructor's DataErrors, by the lookup alone (nothing is read)
        _checked_root(params.get("root"))
        find_data_file(SLICE_FILE, params.get("root"))

    def params(self) -> dict[str, Any]:
        return {"root": self.root}

    def outside_note(self, axis: str) -> str:
        # a user asking for z 309 means the volume's slice, which this source holds at z 0
        if axis != "z":
            return ""
        return f"the slice source holds one slice (volume z {SLICE_Z}) at z 0"

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            {
                "file": str(self.path),
                "sha256": KNOWN_SHA256[SLICE_FILE],  # load_slice verified the file against it
                "real_z": SLICE_Z,
                "what": f"real MTNeuro X-ray slice z={SLICE_Z} "
                "(gray values quantised to 19 levels); "
                "source z index 0 is volume slice 309",
            }
        )
        return info

    def _read(self, channel: str, z: Range, y: Range, x: Range) -> np.ndarray:
        return self._image[z[0] : z[1], y[0] : y[1], x[0] : x[1]].copy()
