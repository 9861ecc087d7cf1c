"""A cheap analytic volume source with the real volume's extent, for tests and examples.

Regions are vertical bands in x (zona incerta, VP, striatum, cortex from left
to right) so every published box A falls in its region and sub-volumes have a
known answer. Image value = (z + y + x) mod 256; pixel label = (y + x) mod 4.
"""

from __future__ import annotations

import numpy as np

from mtneuro.data.sources.base import VolumeSource

BANDS = ((0, 2400, 5), (2400, 3400, 4), (3400, 4300, 2), (4300, 5805, 1))  # (x0, x1, roi id)


class GridSource(VolumeSource):
    name = "grid"

    def __init__(self, shape=(480, 1420, 5805)):
        super().__init__(shape)

    def _read(self, channel, z, y, x):
        # uint8 sums wrap at 256, which is the image's "mod 256" (and, 4 dividing 256, the
        # labels' "mod 4") without an int64 block: reads are most of a tiny task run
        zz = np.arange(*z).astype(np.uint8)[:, None, None]
        yy = np.arange(*y).astype(np.uint8)[None, :, None]
        xx = np.arange(*x)[None, None, :]
        shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
        if channel == "image":
            return np.broadcast_to(zz + (yy + xx.astype(np.uint8)), shape).copy()
        if channel == "pixel_labels":
            return np.broadcast_to((yy + xx.astype(np.uint8)) % 4, shape).copy()
        roi = np.zeros(x[1] - x[0], dtype=np.uint8)
        for x0, x1, roi_id in BANDS:
            roi[(xx[0, 0] >= x0) & (xx[0, 0] < x1)] = roi_id
        return np.broadcast_to(roi, shape).copy()
