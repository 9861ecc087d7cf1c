"""Render any block of the phantom: region ids, microstructure labels and the X-ray image.

Labels (BossDB convention) by priority, lowest first:

* myelinated axons (3): a fibre-streak field of the region above a threshold
  chosen so the region's axon fraction matches (:mod:`phantom_params`);
* cell bodies (2): ellipsoids from :mod:`phantom_objects`;
* vessels (1): capillaries where two smooth isotropic fields are both near zero
  (their common zero set is a network of curved tubes), plus large straight
  vessels through z.

The image is the region's background gray level plus a smooth mottle, plus
each structure's contrast, plus white noise, blurred by about one voxel (the
real volume's noise is correlated over 1-2 voxels: lag-1 autocorrelation 0.84
in the cortex box of the real slice) and rounded to uint8.

Every term is a function of absolute voxel coordinates and the seed; the blur
reads a halo around the block, so a block equals the same part of any larger
block (float64 fields keep rounding differences far below a gray level).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mtneuro.data.sources.phantom_fields import WaveField, hash_uniform
from mtneuro.data.sources.phantom_layout import roi_block
from mtneuro.data.sources.phantom_objects import (
    big_vessels,
    cell_bodies,
    rasterise_big_vessels,
    rasterise_cells,
)
from mtneuro.data.sources.phantom_params import (
    BIG_VESSEL_LUMEN,
    CAPILLARY_WAVELENGTH,
    IMAGE_BLUR,
    REGION_LOOKS,
    fibre_direction,
    look_table,
)
from mtneuro.data.spec import AXON, CELL, VESSEL

Range = tuple[int, int]
HALO = 4  # >= blur radius: int(3.5 * IMAGE_BLUR + 0.5)
Z_CHUNK, XY_CHUNK = 16, 512  # largest piece rendered at once, bounds memory on large reads
N_WAVES = 32
Z_STEP = 4  # fields are evaluated every Z_STEP slices and interpolated between
_STREAM_FIELDS, _STREAM_NOISE = 303, 404


class PhantomRenderer:
    """Deterministic renderer of the phantom volume for one seed.

    Args:
        seed: selects every random choice (fields, objects, noise).
        shape: volume extent (Z, Y, X), used to clip the blur halo.
    """

    def __init__(self, seed: int, shape: tuple[int, int, int]) -> None:
        self.seed = int(seed)
        self.shape = shape
        rng = np.random.default_rng([self.seed, _STREAM_FIELDS])
        self.capillary = (
            WaveField.isotropic(rng, N_WAVES, CAPILLARY_WAVELENGTH),
            WaveField.isotropic(rng, N_WAVES, CAPILLARY_WAVELENGTH),
        )
        self.fibres: dict[int, WaveField] = {}
        for roi, look in REGION_LOOKS.items():
            if look.axon_fraction > 0:
                self.fibres[roi] = WaveField.fibres(
                    rng,
                    N_WAVES,
                    fibre_direction(look),
                    look.fibre_width,
                    look.fibre_length,
                    spread=0.03,
                )
        self._calibrate_thresholds(rng)
        gray = np.stack(
            [
                look_table("background"),
                look_table("background") + look_table("vessel_contrast"),
                look_table("background") + 0.75 * look_table("cell_contrast"),
                look_table("background") + look_table("axon_contrast"),
            ],
            axis=1,
        )
        # float32 from here on: every step is elementwise, so as reproducible as float64
        self._gray = gray.ravel().astype(np.float32)  # index roi * 4 + label
        self._nucleus = (0.25 * look_table("cell_contrast")).astype(np.float32)
        self._texture_amp = look_table("texture").astype(np.float32)
        self._noise_amp = look_table("noise").astype(np.float32)

    def _calibrate_thresholds(self, rng: np.random.Generator, n: int = 20000) -> None:
        """Field thresholds giving each region its target fractions, from field samples."""
        points = rng.uniform(0, 1, (n, 3)) * np.array(self.shape)
        vessel_target = look_table("vessel_fraction")
        self.axon_threshold = np.full(len(vessel_target), np.inf)
        for roi, field in self.fibres.items():
            # vessels are painted over axons, so aim a little higher
            target = REGION_LOOKS[roi].axon_fraction / (1.0 - vessel_target[roi])
            self.axon_threshold[roi] = np.quantile(field.points(points), 1.0 - min(target, 1.0))
        both = np.maximum(
            np.abs(self.capillary[0].points(points)), np.abs(self.capillary[1].points(points))
        )
        width = [np.quantile(both, f) if f > 0 else -1.0 for f in vessel_target]
        self.capillary_width = np.array(width, dtype=np.float32)

    # ---------------------------------------------------------------- labels
    def _in_bundle(self, centres: np.ndarray, roi: np.ndarray) -> np.ndarray:
        inside = np.zeros(len(roi), dtype=bool)
        for r, field in self.fibres.items():
            sel = roi == r
            if sel.any():
                inside[sel] = field.points(centres[sel]) > self.axon_threshold[r]
        return inside

    def _labels(self, z: Range, y: Range, x: Range) -> tuple[np.ndarray, ...]:
        """roi ids, pixel labels, cell depth, large-vessel mask and texture field of a block.

        The first capillary field doubles as the image's smooth mottle (same scale,
        and one field fewer to evaluate).
        """
        roi = roi_block(z, y, x)
        grid = [np.arange(*r) for r in (z, y, x)]
        labels = np.zeros(roi.shape, dtype=np.uint8)
        present = np.flatnonzero(np.bincount(roi.ravel(), minlength=len(self.axon_threshold)))
        for r in present:
            if r in self.fibres:
                # the field only over the region's bounding box in this block
                where = roi == r
                rows, cols = (
                    np.flatnonzero(where.any(axis=(0, 2))),
                    np.flatnonzero(where.any(axis=(0, 1))),
                )
                box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
                field = self.fibres[r].grid_coarse_z(
                    grid[0], grid[1][box[1]], grid[2][box[2]], Z_STEP
                )
                labels[box][where[box] & (field > self.axon_threshold[r])] = AXON
        centres, forms = cell_bodies(self.seed, z, y, x, self._in_bundle)
        depth = rasterise_cells(centres, forms, z, y, x)
        depth[roi == 0] = 0
        labels[depth > 0] = CELL
        width = self.capillary_width[roi]
        v1, v2 = (f.grid_coarse_z(*grid, Z_STEP) for f in self.capillary)
        labels[(np.abs(v1) < width) & (np.abs(v2) < width)] = VESSEL
        big = rasterise_big_vessels(big_vessels(self.seed, y, x), z, y, x) & (roi != 0)
        labels[big] = VESSEL
        return roi, labels, depth, big, v1

    # ---------------------------------------------------------------- image
    def _image(self, z: Range, y: Range, x: Range, roi, labels, depth, big, texture) -> np.ndarray:
        grid = [np.arange(*r) for r in (z, y, x)]
        # one gather for background plus structure contrast: table[roi, label]
        image = self._gray[roi.astype(np.intp) * 4 + labels]  # float32
        image += self._texture_amp[roi] * texture
        noise = hash_uniform(
            self.seed + _STREAM_NOISE, grid[0][:, None, None], grid[1][None, :, None], grid[2]
        )
        noise -= np.float32(0.5)
        image += self._noise_amp[roi] * noise
        # cell bodies are darkest at their centre (nucleus): 0.75x contrast at the rim, 1x there
        image += self._nucleus[roi] * depth
        image[big] = BIG_VESSEL_LUMEN
        image = ndi.gaussian_filter(
            image, (0, IMAGE_BLUR, IMAGE_BLUR), mode="nearest", truncate=3.5
        )
        return image

    # ---------------------------------------------------------------- public
    def _render_piece(self, z: Range, y: Range, x: Range, image: bool) -> dict[str, np.ndarray]:
        """Channels of one bounded piece of a block."""
        if not image:
            roi, labels = self._labels(z, y, x)[:2]
            return {"roi_labels": roi, "pixel_labels": labels}
        # halo in y/x for the blur, clipped to the volume (same clipping for any block)
        hy = (max(0, y[0] - HALO), min(self.shape[1], y[1] + HALO))
        hx = (max(0, x[0] - HALO), min(self.shape[2], x[1] + HALO))
        crop = (slice(None), slice(y[0] - hy[0], y[1] - hy[0]), slice(x[0] - hx[0], x[1] - hx[0]))
        parts = self._labels(z, hy, hx)
        values = self._image(z, hy, hx, *parts)[crop]
        return {
            "roi_labels": parts[0][crop],
            "pixel_labels": parts[1][crop],
            "image": np.clip(np.rint(values), 0, 255).astype(np.uint8),
        }

    def render(self, z: Range, y: Range, x: Range, image: bool = True) -> dict[str, np.ndarray]:
        """All channels of a block as uint8 (Z, Y, X): ``roi_labels``, ``pixel_labels`` and,
        if ``image``, the ``image``.

        Large blocks are rendered in pieces of at most ``Z_CHUNK`` x ``XY_CHUNK`` x
        ``XY_CHUNK`` voxels, which bounds memory; every voxel depends only on its
        absolute position, so the pieces join seamlessly.
        """
        shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
        names = ("roi_labels", "pixel_labels") + (("image",) if image else ())
        out = {name: np.empty(shape, dtype=np.uint8) for name in names}
        for z0 in range(z[0], z[1], Z_CHUNK):
            for y0 in range(y[0], y[1], XY_CHUNK):
                for x0 in range(x[0], x[1], XY_CHUNK):
                    piece = ((z0, min(z[1], z0 + Z_CHUNK)), (y0, min(y[1], y0 + XY_CHUNK)),
                             (x0, min(x[1], x0 + XY_CHUNK)))  # fmt: skip
                    where = tuple(
                        slice(lo - o[0], hi - o[0]) for (lo, hi), o in zip(piece, (z, y, x))
                    )
                    for name, values in self._render_piece(*piece, image).items():
                        out[name][where] = values
        return out
