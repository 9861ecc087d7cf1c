"""Statistics that tie the phantom to the real data, and the real values measured.

Both sides are computed by the same functions: :func:`label_stats` on the real
annotations (``xray_masks``, 32 patches of 128 x 128 per region) and on the
phantom's ``pixel_labels`` in the published boxes cut into 128 x 128 patches;
:func:`image_stats` on the real slice z = 309 inside the four published boxes and
on the phantom's image there, after quantising the phantom to the slice's 19
published gray levels (:func:`quantise_like_slice`), so both histograms are
equally coarse. ``tests/data_phantom/test_calibration.py`` recomputes the real
numbers from ``../shared/data``, checks them against the constants below and the
phantom against them within :data:`TOLERANCES`.
"""

from __future__ import annotations

import numpy as np
from mask_evidence import blob_areas

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import AXON, CELL, REGIONS, SUBVOLUME_A, VESSEL

#: The 19 gray levels of the published slice (``np.unique`` of ``slice_z309.png``).
SLICE_LEVELS = np.array(
    [2, 16, 48, 72, 91, 104, 113, 121, 128, 133, 140, 147, 156, 167, 179, 191, 204, 219, 243],
    dtype=np.uint8,
)
#: Mask file region of each MTNeuro region.
MASK_OF_REGION = {"cortex": "ctx", "striatum": "str", "thalamus": "trn", "zona_incerta": "zi"}

#: Real annotations, :func:`label_stats` of ``load_masks(region)``.
REAL_LABEL_STATS: dict[str, dict[str, float]] = {
    "cortex": {"vessel": 0.0166, "cell": 0.0260, "axon": 0.0, "cell_area": 34.0},
    "striatum": {"vessel": 0.0190, "cell": 0.0327, "axon": 0.1727, "cell_area": 46.7},
    "thalamus": {"vessel": 0.0312, "cell": 0.0249, "axon": 0.5707, "cell_area": 55.3},
    "zona_incerta": {"vessel": 0.0593, "cell": 0.0553, "axon": 0.0, "cell_area": 62.3},
}
#: Real slice z = 309, :func:`image_stats` of each published box.
REAL_IMAGE_STATS: dict[str, dict[str, float]] = {
    "cortex": {"mean": 118.4, "std": 21.8, "p5": 72, "p50": 121, "p95": 147, "lag1": 0.835},
    "striatum": {"mean": 121.8, "std": 29.0, "p5": 72, "p50": 121, "p95": 167, "lag1": 0.904},
    "thalamus": {"mean": 132.8, "std": 32.6, "p5": 72, "p50": 140, "p95": 179, "lag1": 0.876},
    "zona_incerta": {"mean": 119.7, "std": 29.1, "p5": 72, "p50": 121, "p95": 156, "lag1": 0.853},
}
#: How close the phantom must be: fractions within ``rel`` of the real value (or
#: ``abs`` when the real value is 0), cell blob area within ``rel``, gray-level
#: mean within ``abs`` levels, std within ``rel``, percentiles within one or two
#: published levels (the levels are 5-15 apart where these percentiles fall), the
#: correlation of horizontal neighbours (grain of noise and texture) within ``abs``.
TOLERANCES = {
    "fraction_rel": 0.35,
    "fraction_abs": 0.005,
    "cell_area_rel": 0.25,
    "mean_abs": 6.0,
    "std_rel": 0.25,
    "percentile_abs": 20.0,
    "lag1_abs": 0.06,
}
#: Slices of the phantom sampled for the comparison (spread over the task depth).
SAMPLE_Z = (120, 170, 220, 270, 320, 370, 420, 460)
PATCH = 128


def label_stats(labels: np.ndarray) -> dict[str, float]:
    """Fractions of vessel / cell / axon pixels and mean 2D cell blob area (pixels).

    Args:
        labels: internal-convention labels (N, H, W), N 2D patches.
    """
    labels = np.asarray(labels)
    areas = blob_areas(labels == CELL)
    return {
        "vessel": float((labels == VESSEL).mean()),
        "cell": float((labels == CELL).mean()),
        "axon": float((labels == AXON).mean()),
        "cell_area": float(areas.mean()) if areas.size else 0.0,
    }


def image_stats(image: np.ndarray) -> dict[str, float]:
    """Gray-level mean, standard deviation, 5th / 50th / 95th percentiles (the dark
    tail is cells and vessels, the bright one fibre bundles) and the correlation of
    horizontal neighbours ``lag1`` (how fine the grain is).

    Args:
        image: (..., H, W) gray levels.
    """
    image = np.asarray(image, dtype=np.float64)
    values = image.ravel()
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    lag1 = np.corrcoef(image[..., 1:].ravel(), image[..., :-1].ravel())[0, 1]
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
        "lag1": float(lag1),
    }


def quantise_like_slice(image: np.ndarray) -> np.ndarray:
    """Map gray levels to the nearest of the published slice's 19 levels."""
    levels = SLICE_LEVELS.astype(np.int16)
    midpoints = (levels[1:] + levels[:-1]) / 2
    return SLICE_LEVELS[np.searchsorted(midpoints, np.asarray(image), side="left")]


def to_patches(tiles: np.ndarray, size: int = PATCH) -> np.ndarray:
    """Cut (N, H, W) tiles into (M, size, size) patches (H, W multiples of ``size``)."""
    n, h, w = tiles.shape
    return (
        tiles.reshape(n, h // size, size, w // size, size)
        .transpose(0, 1, 3, 2, 4)
        .reshape(-1, size, size)
    )


def phantom_stats(source: VolumeSource, zs=SAMPLE_Z) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`label_stats` and :func:`image_stats` of a source's boxes, per region."""
    out = {}
    for region in REGIONS:
        box = SUBVOLUME_A[region]
        blocks = [
            source.read((z, z + 1), box.y, box.x, channels=("image", "pixel_labels")) for z in zs
        ]
        labels = np.concatenate([b.pixel_labels for b in blocks])
        image = np.concatenate([b.image for b in blocks])
        out[region] = {
            "labels": label_stats(to_patches(labels)),
            "image": image_stats(quantise_like_slice(image)),
        }
    return out


def compare(phantom: dict[str, float], real: dict[str, float], kind: str) -> list[str]:
    """Statistics outside :data:`TOLERANCES`, as readable lines (empty when all agree)."""
    t, bad = TOLERANCES, []
    for key, want in real.items():
        got = phantom[key]
        if kind == "labels" and key != "cell_area":
            ok = abs(got - want) <= (t["fraction_rel"] * want if want > 0 else t["fraction_abs"])
        elif key == "cell_area":
            ok = abs(got - want) <= t["cell_area_rel"] * want
        elif key == "mean":
            ok = abs(got - want) <= t["mean_abs"]
        elif key == "std":
            ok = abs(got - want) <= t["std_rel"] * want
        elif key == "lag1":
            ok = abs(got - want) <= t["lag1_abs"]
        else:
            ok = abs(got - want) <= t["percentile_abs"]
        if not ok:
            bad.append(f"{key}: phantom {got:.4g}, real {want:.4g}")
    return bad
