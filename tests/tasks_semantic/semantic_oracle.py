"""The straightforward per-crop version of :func:`mtneuro.tasks.semantic.semantic_features`:
the oracle of the tests and the baseline of ``benchmarks/semantic_features.py``.

Test code, not library code: it needs scikit-image (the ``test`` extra).
"""

from __future__ import annotations

import cc3d
import numpy as np

from mtneuro.data.spec import AXON, CELL, VESSEL
from mtneuro.registry import check_choice
from mtneuro.tasks.semantic import (
    FEATURE_NAMES,
    REFERENCE_FEW_CELLS_DISTANCE,
    Connectivity,
    check_labels,
    crop_layout,
)


def semantic_features_per_crop(
    labels: np.ndarray,
    crop: int = 128,
    connectivity: Connectivity = "3d",
    *,
    reference_distance: bool = False,
    reference_cell_size: bool = False,
    few_cells_distance: float = REFERENCE_FEW_CELLS_DISTANCE,
) -> dict[str, np.ndarray]:
    """Straightforward per-crop version of :func:`semantic_features` (same arguments).

    Loops over crops with ``skimage.measure.regionprops`` and a KD-tree per crop, as
    the MTNeuro reference does. Slow; kept as the oracle for tests and the baseline
    of ``benchmarks/semantic_features.py``.
    """
    from skimage.measure import regionprops
    from sklearn.neighbors import KDTree

    n, h, w = check_labels(labels, crop)
    labels = np.asarray(labels)
    check_choice("connectivity", connectivity, ("3d", "2d"))
    cells = labels == CELL
    if connectivity == "3d":  # one pass over the whole stack, as the reference
        comps = cc3d.connected_components(cells, connectivity=6)
    else:
        comps = np.stack([cc3d.connected_components(s, connectivity=4) for s in cells])
    ny, nx, n_crops = crop_layout(n, h, w, crop)
    out = {k: np.zeros(n_crops) for k in FEATURE_NAMES}
    for i in range(n_crops):
        t, pos = divmod(i, ny * nx)
        r, c = divmod(pos, nx)
        window = (t, slice(r * crop, (r + 1) * crop), slice(c * crop, (c + 1) * crop))
        for name, value in (("vessel_fraction", VESSEL), ("axon_fraction", AXON)):
            props = regionprops((labels[window] == value).astype(np.uint8))
            out[name][i] = props[0].area / crop**2 * 100 if props else 0.0
        props = regionprops(comps[window])
        out["cell_count"][i] = len(props)
        areas = [p.area for p in props]
        out["cell_size"][i] = float(np.mean(areas)) if areas else 0.0
        if len(props) < 2:
            out["nn_distance"][i] = few_cells_distance
            if reference_cell_size:
                out["cell_size"][i] = 0.0
            continue
        points = np.array([p.centroid for p in props])
        dist = KDTree(points).query(points, k=2)[0]
        out["nn_distance"][i] = dist.mean() if reference_distance else dist[:, 1].mean()
    out["cell_count"] = out["cell_count"].astype(np.int64)
    crops_per_tile = ny * nx
    return {
        "tile": np.repeat(np.arange(n), crops_per_tile),
        "position": np.tile(np.arange(crops_per_tile), n),
        **out,
    }
