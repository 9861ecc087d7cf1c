"""Task-3 semantic features: known answers, edge cases, equality with the per-crop oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from semantic_oracle import semantic_features_per_crop

from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks.semantic import FEATURE_NAMES, feature_matrix, semantic_features

BG, VESSEL, CELL, AXON = 0, 1, 2, 3


def test_known_counts_sizes_fractions_and_distance():
    tile = np.zeros((1, 8, 8), dtype=np.uint8)
    tile[0, 0:2, 0:2] = CELL  # centroid (0.5, 0.5), area 4
    tile[0, 0:2, 6:8] = CELL  # centroid (0.5, 6.5), area 4
    tile[0, 7, 0:4] = VESSEL  # 4 px = 6.25 %
    tile[0, 4:6, 2:6] = AXON  # 8 px = 12.5 %
    f = semantic_features(tile, crop=8)
    assert f["cell_count"].tolist() == [2]
    assert f["cell_size"].tolist() == [4.0]
    assert f["nn_distance"].tolist() == [6.0]
    assert f["vessel_fraction"].tolist() == [6.25]
    assert f["axon_fraction"].tolist() == [12.5]
    assert f["tile"].tolist() == [0] and f["position"].tolist() == [0]


def test_nearest_neighbour_excludes_self_and_reference_mode_halves_it():
    tile = np.zeros((1, 8, 8), dtype=np.uint8)
    tile[0, 0, 0] = tile[0, 0, 3] = tile[0, 4, 0] = CELL  # a 3-4-5 triangle
    fixed = semantic_features(tile, crop=8)["nn_distance"][0]
    reference = semantic_features(tile, crop=8, reference_distance=True)["nn_distance"][0]
    assert fixed == pytest.approx((3 + 3 + 4) / 3)
    assert reference == pytest.approx((3 + 3 + 4) / 6)


def test_crop_order_is_row_major_within_tile_then_tile_major():
    labels = np.zeros((2, 16, 16), dtype=np.uint8)
    labels[0, 1, 12] = CELL  # tile 0, top-right crop
    labels[1, 12, 1] = CELL  # tile 1, bottom-left crop
    labels[1, 12, 12:14] = CELL  # tile 1, bottom-right crop (one cell of 2 px)
    f = semantic_features(labels, crop=8)
    assert f["cell_count"].tolist() == [0, 1, 0, 0, 0, 0, 1, 1]
    assert f["tile"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert f["position"].tolist() == [0, 1, 2, 3] * 2
    assert f["cell_size"].tolist() == [0, 1, 0, 0, 0, 0, 1, 2]


def test_cell_across_crop_border_counts_in_both_crops_with_its_part_area():
    tile = np.zeros((1, 8, 16), dtype=np.uint8)
    tile[0, 2:4, 6:10] = CELL  # one component, 4 px on each side of x = 8
    f = semantic_features(tile, crop=8)
    assert f["cell_count"].tolist() == [1, 1]
    assert f["cell_size"].tolist() == [4.0, 4.0]


def test_empty_crop_single_cell_and_no_vessels():
    labels = np.zeros((1, 8, 16), dtype=np.uint8)
    labels[0, 3:6, 11:13] = CELL  # one 6-px cell in the right crop, no vessels anywhere
    f = semantic_features(labels, crop=8)
    assert f["vessel_fraction"].tolist() == [0.0, 0.0]
    assert f["cell_count"].tolist() == [0, 1]
    assert f["cell_size"].tolist() == [0.0, 6.0]
    assert f["nn_distance"].tolist() == [64.0, 64.0]
    ref = semantic_features(labels, crop=8, reference_cell_size=True, few_cells_distance=np.nan)
    assert ref["cell_size"].tolist() == [0.0, 0.0]
    assert np.isnan(ref["nn_distance"]).all()


@pytest.mark.parametrize("chunk", [1, 2, 32])
def test_3d_components_join_pieces_of_one_crop_through_other_slices(chunk):
    labels = np.zeros((3, 8, 8), dtype=np.uint8)
    labels[0, 1, 1] = labels[0, 1, 5] = CELL  # two pieces in slice 0 ...
    labels[1, 1, 1:6] = CELL  # ... joined by a bridge in slice 1
    labels[2, 6, 6] = CELL
    f3 = semantic_features(labels, crop=8, connectivity="3d", chunk=chunk)
    f2 = semantic_features(labels, crop=8, connectivity="2d", chunk=chunk)
    assert f3["cell_count"].tolist() == [1, 1, 1]
    assert f3["cell_size"].tolist() == [2.0, 5.0, 1.0]
    assert f2["cell_count"].tolist() == [2, 1, 1]
    assert f2["nn_distance"][0] == 4.0


def _blobby_stack(seed: int, shape=(12, 64, 64)) -> np.ndarray:
    """Random label stack with blob-shaped cells, vessels and axons."""
    rng = np.random.default_rng(seed)
    fields = [
        ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(0.7, 1, 1)) for _ in range(3)
    ]
    labels = np.zeros(shape, dtype=np.uint8)
    labels[fields[0] > 0.25] = AXON
    labels[fields[1] > 0.3] = VESSEL
    labels[fields[2] > 0.3] = CELL
    return labels


@pytest.mark.parametrize("connectivity", ["3d", "2d"])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_per_crop_reference_on_random_stacks(connectivity, seed):
    labels = _blobby_stack(seed)
    oracle = semantic_features_per_crop(labels, crop=16, connectivity=connectivity)
    assert oracle["cell_count"].max() > 3  # the stack exercises real multi-cell crops
    for chunk in (1, 5, 100):
        fast = semantic_features(labels, crop=16, connectivity=connectivity, chunk=chunk)
        for name in ("cell_count", "cell_size", "vessel_fraction", "axon_fraction"):
            np.testing.assert_array_equal(fast[name], oracle[name], err_msg=name)
        np.testing.assert_allclose(fast["nn_distance"], oracle["nn_distance"], rtol=0, atol=1e-9)


def test_reference_flags_match_per_crop_reference():
    labels = _blobby_stack(3, shape=(6, 32, 32))
    kwargs = {"crop": 8, "reference_distance": True, "reference_cell_size": True}
    fast, oracle = semantic_features(labels, **kwargs), semantic_features_per_crop(labels, **kwargs)
    for name in FEATURE_NAMES:
        np.testing.assert_allclose(fast[name], oracle[name], rtol=0, atol=1e-9, err_msg=name)


def test_feature_matrix_and_validation():
    labels = _blobby_stack(4, shape=(2, 32, 32))
    f = semantic_features(labels, crop=16)
    assert feature_matrix(f).shape == (8, len(FEATURE_NAMES))
    with pytest.raises(ConfigError, match="crop"):
        semantic_features(labels, crop=12)
    with pytest.raises(DataError, match="shape"):
        semantic_features(labels[0], crop=16)
    with pytest.raises(DataError, match="dtype"):
        semantic_features(labels.astype(np.float32), crop=16)
    with pytest.raises(ConfigError, match="connectivity"):
        semantic_features(labels, crop=16, connectivity="4d")


@pytest.mark.parametrize("connectivity", ["3d", "2d"])
def test_crop_that_is_not_a_power_of_two_equals_per_crop_reference(connectivity):
    labels = _blobby_stack(5, shape=(5, 36, 24))
    oracle = semantic_features_per_crop(labels, crop=12, connectivity=connectivity)
    fast = semantic_features(labels, crop=12, connectivity=connectivity, chunk=2)
    for name in ("cell_count", "cell_size", "vessel_fraction", "axon_fraction"):
        np.testing.assert_array_equal(fast[name], oracle[name], err_msg=name)
    np.testing.assert_allclose(fast["nn_distance"], oracle["nn_distance"], rtol=0, atol=1e-9)


def test_dense_crops_use_the_kd_tree_and_match_brute_force(monkeypatch):
    from mtneuro.tasks import semantic_neighbours

    labels = np.zeros((2, 32, 32), dtype=np.uint8)
    labels[:, ::2, ::2] = CELL  # 64 one-pixel cells per 16 x 16 crop, 2 px apart
    labels[1, 1::4, 1::4] = VESSEL
    labels[0, 16:, 16:] = 0  # an empty crop among dense ones
    labels[0, 20, 20] = CELL  # ... now with a single cell
    oracle = semantic_features_per_crop(labels, crop=16)
    kdtree = semantic_features(labels, crop=16)  # ~64 pairs per cell: above the limit
    monkeypatch.setattr(semantic_neighbours, "MAX_PAIRS_PER_POINT", 10**9)
    brute = semantic_features(labels, crop=16)
    assert oracle["cell_count"].tolist() == [64, 64, 64, 1] + [64] * 4
    for f in (kdtree, brute):
        for name in FEATURE_NAMES:
            np.testing.assert_allclose(f[name], oracle[name], rtol=0, atol=1e-9, err_msg=name)
