"""How each region of the phantom looks: microstructure amounts, sizes and intensities.

Calibration (see ``tests/support/phantom_calibration.py`` for the measured real
numbers and ``tests/data_phantom/test_calibration.py``, which checks the phantom
against them):

* label fractions and cell sizes of cortex, striatum, thalamus (TRN and VP) and
  zona incerta come from the real annotations (``xray_masks``, 32 patches of
  128 x 128 per region, internal convention):

  ============  =======  =======  =======  ===================
  region        cells    vessels  axons    mean cell blob area
  ============  =======  =======  =======  ===================
  cortex        0.0260   0.0166   0.000    34.0 px
  striatum      0.0327   0.0190   0.173    46.7 px
  thalamus      0.0249   0.0312   0.571    55.3 px
  zona incerta  0.0553   0.0593   0.000    62.3 px
  ============  =======  =======  =======  ===================

  A sphere of radius ``R`` cut at a uniformly random height shows a disc of mean
  area ``2/3 pi R^2``, which gives the radii below (then tuned by rendering until
  the phantom's blob areas match); volume fraction equals area fraction.
* gray levels come from the real slice z = 309 inside the four published boxes
  (mean / std: cortex 118.4 / 21.8, striatum 121.8 / 29.0, VP 132.8 / 32.6,
  zona incerta 119.7 / 29.1; the 5th percentile, dark cells and vessels, is 72
  everywhere; the 95th, bright fibres, is 147 / 167 / 179 / 156; neighbouring
  pixels correlate 0.835 / 0.904 / 0.876 / 0.853, the grain). Background,
  object contrasts, noise and texture amplitudes were tuned by rendering the
  phantom's boxes until these statistics matched within the test tolerances.
* internal capsule, corpus callosum (white matter: dense fibres, few cells),
  hypothalamus and TRN have no annotations; their values are chosen to look
  like the slice there (region means of the slice under the traced layout:
  internal capsule 155.8, corpus callosum 148.4, hypothalamus 134.2, TRN 140.0).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class RegionLook:
    """Appearance of one ``roi_labels`` id.

    Fractions are of voxels (= of pixels in a slice); lengths in voxels (1.17 um);
    intensities in uint8 gray levels before the final 1-voxel blur.
    """

    cell_fraction: float = 0.0
    cell_radius: float = 4.0
    vessel_fraction: float = 0.0
    axon_fraction: float = 0.0
    fibre_angle: float = 0.0  # degrees from +x towards -y (up in a slice view)
    fibre_elevation: float = 20.0  # degrees out of the x/y plane
    fibre_width: tuple[float, float] = (20.0, 50.0)  # wavelength range across bundles
    fibre_length: float = 200.0  # wavelength along bundles
    background: float = 124.0
    texture: float = 6.0  # amplitude of the smooth low-frequency mottle
    noise: float = 120.0  # amplitude of the white noise before the blur
    cell_contrast: float = -90.0
    vessel_contrast: float = -75.0
    axon_contrast: float = 40.0


#: Thalamus (TRN and VP share the thalamus annotations: cells, vessels, fibre bundles).
_THALAMUS = RegionLook(
    cell_fraction=0.0249,
    cell_radius=5.5,
    vessel_fraction=0.0312,
    fibre_elevation=10.0,
    fibre_width=(10.0, 30.0),
    fibre_length=800.0,
    axon_contrast=35.0,
)
#: White matter (internal capsule, corpus callosum): dense fibres, few cells.
_WHITE_MATTER = RegionLook(
    cell_fraction=0.006,
    cell_radius=3.5,
    vessel_fraction=0.015,
    axon_fraction=0.85,
    fibre_elevation=5.0,
    fibre_width=(10.0, 30.0),
    fibre_length=800.0,
)

#: roi id -> appearance. Ids as ``roi_labels``: 0 clear, 1 cortex, 2 striatum, 3 TRN,
#: 4 VP, 5 zona incerta, 6 internal capsule, 7 hypothalamus, 8 corpus callosum.
REGION_LOOKS: dict[int, RegionLook] = {
    0: RegionLook(
        background=6.0, texture=0.0, noise=40.0, cell_contrast=0, vessel_contrast=0, axon_contrast=0
    ),
    1: RegionLook(cell_fraction=0.026, cell_radius=4.2, vessel_fraction=0.0166, background=123.0),
    2: RegionLook(
        cell_fraction=0.0327,
        cell_radius=4.85,
        vessel_fraction=0.019,
        axon_fraction=0.173,
        fibre_angle=15.0,
        fibre_elevation=4.0,
        fibre_width=(30.0, 80.0),
        fibre_length=2000.0,
        background=121.0,
        axon_contrast=50.0,
    ),
    3: replace(_THALAMUS, axon_fraction=0.45, fibre_angle=60.0, background=128.0),
    4: replace(_THALAMUS, axon_fraction=0.571, fibre_angle=40.0, background=118.0),
    5: RegionLook(
        cell_fraction=0.0553,
        cell_radius=5.8,
        vessel_fraction=0.0593,
        background=126.0,
        cell_contrast=-80.0,
        vessel_contrast=-60.0,
    ),
    6: replace(_WHITE_MATTER, fibre_angle=-15.0, background=126.0, axon_contrast=32.0),
    7: RegionLook(cell_fraction=0.04, cell_radius=5.0, vessel_fraction=0.04, background=138.0),
    8: replace(_WHITE_MATTER, fibre_angle=90.0, background=122.0, axon_contrast=30.0),
}
N_ROI = max(REGION_LOOKS) + 1

#: Large vessels: straight tubes through z, at most one per cell of this many
#: pixels in x/y, present with this probability; radius range in voxels. They
#: appear as the black discs of the real slice (about one per 256 x 256 box).
BIG_VESSEL_CELL = 384
BIG_VESSEL_PROBABILITY = 0.5
BIG_VESSEL_RADIUS = (5.0, 11.0)
BIG_VESSEL_LUMEN = 6.0  # gray level inside a large vessel
#: Capillary network: wavelengths of the two fields whose common zero set forms the tubes.
CAPILLARY_WAVELENGTH = (30.0, 70.0)
#: Blur of the final image (pixels); the mottle reuses the first capillary field.
IMAGE_BLUR = 0.8


def look_table(name: str) -> np.ndarray:
    """Column ``name`` of :data:`REGION_LOOKS` as a float64 lookup array indexed by roi id."""
    valid = {f.name for f in fields(RegionLook)}
    if name not in valid:
        raise KeyError(f"unknown region look {name!r}; valid: {sorted(valid)}")
    table = np.zeros(N_ROI, dtype=np.float64)
    for roi, look in REGION_LOOKS.items():
        table[roi] = getattr(look, name)
    return table


def fibre_direction(look: RegionLook) -> np.ndarray:
    """Unit fibre direction (z, y, x) of a region."""
    a, e = np.radians(look.fibre_angle), np.radians(look.fibre_elevation)
    return np.array([np.sin(e), -np.cos(e) * np.sin(a), np.cos(e) * np.cos(a)])
