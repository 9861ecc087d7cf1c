"""Task-3 features on hand-made tiles whose answers are known (mutation audit): the KD-tree
path of the nearest-neighbour distance, and pixel fractions of a 256-pixel crop."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.tasks import semantic_neighbours
from mtneuro.tasks.semantic import semantic_features

VESSEL, CELL, AXON = 1, 2, 3


def _dense_pair_and_far_pair() -> np.ndarray:
    """One 16 x 48 tile, three 16-px crops: crops 0 and 1 hold 36 one-pixel cells each on a
    3-px grid (columns 0, 3, ..., 15), so the cell in column 15 of crop 0 is 1 px from
    column 0 of crop 1; crop 2 holds two cells 13 * sqrt(2) px apart, more than half the
    crop side. 36 * 36 pairs per dense crop put the search on the KD-tree."""
    labels = np.zeros((1, 16, 48), dtype=np.uint8)
    grid = np.arange(0, 16, 3)
    for x0 in (0, 16):
        labels[0, grid[:, None], x0 + grid[None, :]] = CELL
    labels[0, 1, 33] = labels[0, 14, 46] = CELL
    return labels


def test_kd_tree_nearest_neighbours_stay_in_their_crop():
    labels = _dense_pair_and_far_pair()
    n_cells = 36 + 36 + 2
    pairs = 36 * 36 * 2 + 2 * 2
    assert pairs > semantic_neighbours.MAX_PAIRS_PER_POINT * n_cells  # the KD-tree path
    f = semantic_features(labels, crop=16)
    assert f["cell_count"].tolist() == [36, 36, 2]
    # every dense cell's nearest is 3 px away in its own crop, not 1 px across the border
    np.testing.assert_allclose(f["nn_distance"], [3.0, 3.0, 13 * np.sqrt(2)], rtol=0, atol=1e-9)


def test_kd_tree_and_brute_force_agree_on_the_same_cells(monkeypatch):
    labels = _dense_pair_and_far_pair()
    kdtree = semantic_features(labels, crop=16)["nn_distance"]
    monkeypatch.setattr(semantic_neighbours, "MAX_PAIRS_PER_POINT", 10**9)
    np.testing.assert_allclose(semantic_features(labels, crop=16)["nn_distance"], kdtree,
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize("vessel_rows", [256, 128])
def test_fractions_of_a_256_pixel_crop(vessel_rows):
    # each crop column then holds 256 hits of one class: more than a uint8 count can hold
    labels = np.full((1, 256, 256), AXON, dtype=np.uint8)
    labels[0, :vessel_rows] = VESSEL
    f = semantic_features(labels, crop=256)
    assert f["vessel_fraction"].tolist() == [vessel_rows / 256 * 100]
    assert f["axon_fraction"].tolist() == [100 - vessel_rows / 256 * 100]
