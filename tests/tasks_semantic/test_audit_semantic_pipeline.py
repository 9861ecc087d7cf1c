"""Task-3 pipeline on cases whose answers are known (mutation audit): bad labels and settings
name the key, the value and what was expected; centroids of cells of several row runs; what
``load_task3_data`` hands the features (connectivity, few-cells distance); the first seed's
scatter and the per-feature ridge penalty."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import SUBVOLUME_A
from mtneuro.errors import ConfigError, DataError
from mtneuro.tasks import semantic_probe
from mtneuro.tasks.semantic import FEATURE_NAMES, semantic_features
from mtneuro.tasks.semantic_probe import Task3Data, run_task3
from mtneuro.tasks.semantic_task import TASK3

VESSEL, CELL = 1, 2
COUNT = list(FEATURE_NAMES).index("cell_count")
DISTANCE = list(FEATURE_NAMES).index("nn_distance")


# ---------------------------------------------------------------- semantic_features
@pytest.mark.parametrize(("shape", "crop", "message"), [
    ((1, 8, 8), 0, r"^crop: expected int > 0, got 0$"),
    # the height divides, the width does not
    ((1, 8, 12), 8, r"^crop: expected a divisor of the tile size 8x12, got 8$"),
])
def test_bad_crops_are_refused(shape, crop, message):
    with pytest.raises(ConfigError, match=message):
        semantic_features(np.zeros(shape, dtype=np.uint8), crop=crop)


def test_bad_chunks_and_stacks_are_refused():
    with pytest.raises(ConfigError, match=r"^chunk: expected int >= 1, got 0$"):
        semantic_features(np.zeros((2, 8, 8), dtype=np.uint8), crop=8, chunk=0)
    with pytest.raises(DataError, match=r"^labels: expected an \(n, H, W\) stack, got shape "
                                        r"\(1, 1, 8, 8\)$"):
        semantic_features(np.zeros((1, 1, 8, 8), dtype=np.uint8), crop=8)


def test_boolean_labels_are_vessel_masks():
    labels = np.zeros((1, 8, 8), dtype=bool)
    labels[0, :2] = True  # True is label 1, vessel: 16 of 64 pixels
    assert semantic_features(labels, crop=8)["vessel_fraction"].tolist() == [25.0]


def test_centroids_of_cells_made_of_runs_of_different_lengths():
    # an L of 4 + 1 pixels (rows 0-1) has centroid x (0+1+2+3+0)/5 = 1.2, y 0.2; a dot at
    # (0, 7): distance sqrt(0.2^2 + 5.8^2) both ways
    tile = np.zeros((1, 8, 8), dtype=np.uint8)
    tile[0, 0, 0:4] = tile[0, 1, 0] = tile[0, 0, 7] = CELL
    distance = semantic_features(tile, crop=8)["nn_distance"]
    np.testing.assert_allclose(distance, [np.hypot(0.2, 5.8)], rtol=0, atol=1e-12)


# ---------------------------------------------------------------- config
@pytest.mark.parametrize(("values", "message"), [
    ({"few_cells_distance": -1.0},
     r"few_cells_distance: expected float >= 0 \(pixels\), got -1\.0"),
    ({"cv": 1}, r"cv: expected int >= 2, got 1"),
])
def test_bad_task3_values_name_the_key_value_and_expectation(values, message):
    with pytest.raises(ConfigError, match=message):
        TASK3.make_config(None, values)


def test_task3_runs_the_seeds_task1_runs_by_default():
    # task 3 probes the encoders task 1 trains: both default to seeds 0, 1, 2
    from mtneuro.tasks.region_config import Task1Config

    assert TASK3.make_config(None, {}).seeds == Task1Config().seeds == (0, 1, 2)


# ---------------------------------------------------------------- load_task3_data
class _Source(VolumeSource):
    """Zeros, with ``channels`` and ``slices`` chosen."""

    name = "zeros"

    def __init__(self, slices: int = 480, channels: tuple[str, ...] = ("image", "pixel_labels")
                 ) -> None:
        super().__init__((slices, 1420, 5805), channels)

    def _read(self, channel, z, y, x):
        return np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)


@pytest.mark.parametrize(("source", "message"), [
    (_Source(channels=("image",)), r"^source 'zeros' has no pixel_labels; task 3 needs them$"),
    (_Source(slices=400), r"^source 'zeros' has 400 slices; task 3 needs z 110\.\.470$"),
])
def test_sources_task3_cannot_use_are_refused(monkeypatch, source, message):
    monkeypatch.setattr(semantic_probe, "open_source", lambda name, **kw: source)
    with pytest.raises(ConfigError, match=message):
        semantic_probe.load_task3_data(TASK3.make_config(None, {"method": "pca",
                                                                "source": "zeros"}))


def _bridge_blocks(source, channels, box, starts, depth):
    """128-px tiles of every slice: two one-pixel cells 4 px apart in the first slice, joined
    by a bar in the second (6-connected through it, not within the first slice)."""
    labels = np.zeros((len(starts), depth, 128, 128), dtype=np.uint8)
    labels[0, 0, 1, [1, 5]] = CELL
    labels[1, 0, 1, 1:6] = CELL
    return {"image": np.zeros_like(labels), "pixel_labels": labels}


@pytest.mark.parametrize(("values", "connectivity", "count"), [
    ({}, "3d", 1),  # every slice read: cells labelled over the stack (the reference)
    ({"connectivity": "2d"}, "2d", 2),
])
def test_every_slice_read_labels_cells_in_3d_by_default(monkeypatch, values, connectivity,
                                                        count):
    monkeypatch.setattr(semantic_probe, "open_source", lambda name, **kw: _Source())
    monkeypatch.setattr(semantic_probe, "read_block_channels", _bridge_blocks)
    data, _ = semantic_probe.load_task3_data(TASK3.make_config(None, {"method": "pca",
                                                                      **values}))
    assert data.connectivity == connectivity and data.z.size == 4 * 360
    assert data.features[0, COUNT] == count  # the first slice's only crop


class _ThreeCells(VolumeSource):
    """Two one-pixel cells 3 px apart in the top-left quadrant of every box A, one alone in
    the top-right quadrant, in every slice."""

    name = "three-cells"

    def __init__(self) -> None:
        super().__init__((480, 1420, 5805))

    def _read(self, channel, z, y, x):
        out = np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
        if channel == "pixel_labels":
            for box in SUBVOLUME_A.values():
                for dy, dx in ((10, 10), (10, 13), (10, 200)):
                    yy, xx = box.y[0] + dy - y[0], box.x[0] + dx - x[0]
                    if 0 <= yy < out.shape[1] and 0 <= xx < out.shape[2]:
                        out[:, yy, xx] = CELL
        return out


def test_crops_with_one_cell_take_the_configured_distance(monkeypatch):
    monkeypatch.setattr(semantic_probe, "open_source", lambda name, **kw: _ThreeCells())
    config = TASK3.make_config(None, {"method": "pca", "z_step": 180, "few_cells_distance": 5.0,
                                      "reference_features": False})
    data, _ = semantic_probe.load_task3_data(config)
    # quadrants TL (two cells 3 px apart), TR (one cell), BL and BR (none)
    assert data.features[:4, DISTANCE].tolist() == [3.0, 5.0, 5.0, 5.0]


# ---------------------------------------------------------------- run_task3
class _CropMean(nn.Module):
    """Embedding: the mean intensity of the crop, ``(N, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))[:, None]


def _flat_crops(seed: int = 0) -> tuple[Task3Data, np.ndarray]:
    """Tiles of four flat quadrants on 12 training and 4 test slices; the first feature is
    noise unrelated to the grey level, the others are exactly linear in it."""
    z = np.array([110 + 20 * i for i in range(12)] + [420, 430, 440, 450])
    rng = np.random.default_rng(seed)
    grey = rng.permutation(np.arange(20, 20 + 4 * z.size * 3, 3))[: 4 * z.size]
    tiles = np.repeat(np.repeat(grey.reshape(z.size, 2, 2), 8, axis=1), 8, axis=2)
    features = grey[:, None] * np.array([0.0, 1.0, -2.0, 0.5, 3.0]) + 7.0
    features[:, 0] = rng.normal(0, 1, grey.size)
    data = Task3Data(tiles.astype(np.uint8)[:, None], z, np.arange(z.size) % 4, features, "2d")
    return data, grey


def test_each_feature_keeps_its_own_ridge_penalty_and_the_scatter_is_the_first_seeds():
    data, _ = _flat_crops()
    config = TASK3.make_config(None, {"method": "encoder", "encoder": "crop-mean",
                                      "seeds": [0, 1], "input_size": 16,
                                      "alphas": [1e-9, 1e9], "cv": 3})
    result = run_task3(config, data, encoder=_CropMean())
    # noise is predicted best by its training mean (the largest penalty), the exact lines by
    # the least penalised fit
    assert result["per_seed"][0]["alpha"] == dict(zip(FEATURE_NAMES, [1e9] + [1e-9] * 4))
    assert result["scatter"]["seed"] == 0
    assert result["scatter"]["true"].shape == (16, 5)
