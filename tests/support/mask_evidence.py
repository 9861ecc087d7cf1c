"""The evidence for the label convention of the real mask files (``xray_masks``).

:data:`mtneuro.data.shared.MASK_FILE_TO_INTERNAL` was established from the data
by the rules of that module's docstring; :func:`infer_mask_mapping` re-derives it
and :func:`mask_label_evidence` gives the numbers quoted there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def blob_areas(mask: np.ndarray) -> np.ndarray:
    """Pixel areas of the 4-connected blobs of each 2D slice of a boolean (N, H, W) stack."""
    areas = []
    for plane in np.asarray(mask, dtype=bool):
        labels, count = ndi.label(plane)
        if count:
            areas.append(np.bincount(labels.ravel())[1:])
    return np.concatenate(areas) if areas else np.zeros(0, dtype=np.int64)


def blob_elongations(mask: np.ndarray, min_area: int = 10) -> np.ndarray:
    """Principal-axis ratio (>= 1) of every 2D blob of at least ``min_area`` pixels."""
    ratios = []
    for plane in np.asarray(mask, dtype=bool):
        labels, count = ndi.label(plane)
        if not count:
            continue
        ys, xs = np.nonzero(labels)
        ids = labels[ys, xs]
        n = np.bincount(ids, minlength=count + 1).astype(np.float64)
        keep = n >= min_area
        # second moments per blob from pixel sums, all blobs at once
        sums = [
            np.bincount(ids, w, minlength=count + 1) for w in (ys, xs, ys * ys, xs * xs, ys * xs)
        ]
        with np.errstate(invalid="ignore", divide="ignore"):
            my, mx = sums[0] / n, sums[1] / n
            cyy = sums[2] / n - my**2
            cxx = sums[3] / n - mx**2
            cxy = sums[4] / n - my * mx
        half_trace, det = (cyy + cxx) / 2, cyy * cxx - cxy**2
        root = np.sqrt(np.maximum(half_trace**2 - det, 0))
        big, small = half_trace + root, np.maximum(half_trace - root, 1e-3)
        ratios.append(np.sqrt(big / small)[keep])
    return np.concatenate(ratios) if ratios else np.zeros(0)


def mask_label_evidence(masks: np.ndarray) -> dict[int, dict[str, float]]:
    """Per file label 1..3: pixel fraction, mean / max blob area and median elongation.

    Args:
        masks: one region's raw masks (N, H, W), any label convention with values 0..3.
    """
    evidence = {}
    for label in (1, 2, 3):
        mask = masks == label
        areas = blob_areas(mask)
        elong = blob_elongations(mask)
        evidence[label] = {
            "fraction": float(mask.mean()),
            "mean_area": float(areas.mean()) if areas.size else 0.0,
            "max_area": float(areas.max()) if areas.size else 0.0,
            "elongation": float(np.median(elong)) if elong.size else float("nan"),
        }
    return evidence


def infer_mask_mapping(raw: dict[str, np.ndarray]) -> np.ndarray:
    """Derive file label -> internal label from the data, by the rules of the module docstring.

    Args:
        raw: region (``ctx``, ``str``, ``trn``, ``zi``) -> raw masks.

    Returns:
        uint8 lookup table of 4 entries, comparable with :data:`MASK_FILE_TO_INTERNAL`.
    """
    evidence = {region: mask_label_evidence(m) for region, m in raw.items()}
    labels = (1, 2, 3)
    # axons: the label absent from cortex and zona incerta but abundant in striatum and thalamus
    bundle_score = {
        lab: min(evidence[r][lab]["fraction"] for r in ("str", "trn"))
        - max(evidence[r][lab]["fraction"] for r in ("ctx", "zi"))
        for lab in labels
    }
    axon = max(labels, key=bundle_score.get)
    rest = [lab for lab in labels if lab != axon]
    # cells: the rounder of the two remaining labels in most regions
    rounder = [min(rest, key=lambda lab: evidence[r][lab]["elongation"]) for r in raw]
    cell = max(rest, key=rounder.count)
    vessel = next(lab for lab in rest if lab != cell)
    lut = np.zeros(4, dtype=np.uint8)
    lut[axon], lut[vessel], lut[cell] = 3, 1, 2
    return lut
