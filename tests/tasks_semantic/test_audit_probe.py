"""Task-3 scores on a case whose answers are known in closed form (mutation audit).

Every quadrant crop of a tile is one flat grey level ``g``, and the encoder returns the crop's
mean intensity, so each crop's embedding is an affine function of ``g``. The features are
exactly linear in ``g`` on the training slices and carry known noise elsewhere, so with a
negligible ridge penalty the probe's test predictions are the training line itself, and every
reported number (held-out R², in-sample R², split sizes, feature summary) follows by hand.
Also: cross-validation folds are whole z slices, and slices read z_step apart are labelled
one by one (2D), not as neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.spec import SUBVOLUME_A
from mtneuro.errors import DataError
from mtneuro.tasks.semantic import FEATURE_NAMES
from mtneuro.tasks.semantic_probe import Task3Data, run_task3
from mtneuro.tasks.semantic_task import TASK3

# slices of the task z splits (train [110, 379), val [380, 409), test [420, 470)) with every
# split boundary on both sides: 379, 409 and 419 are gaps, 470 is past the test range
TRAIN_Z = [110, 150, 200, 250, 300, 378]
OTHER_Z = [379, 385, 408, 409, 419]  # val or gap: in-sample fit only
TEST_Z = [420, 430, 445, 460, 469]
OUT_Z = [470]
CELL = 2
SLOPES = np.array([2.0, -1.0, 0.5, 3.0, 1.5])
INTERCEPTS = np.array([1.0, 50.0, -2.0, 0.0, 10.0])


class CropMean(nn.Module):
    """Embedding: the mean intensity of the crop, ``(N, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))[:, None]


def _case() -> tuple[Task3Data, np.ndarray, np.ndarray]:
    z = np.array(TRAIN_Z + OTHER_Z + TEST_Z + OUT_Z)
    n = len(z)
    rng = np.random.default_rng(0)
    grey = rng.permutation(np.arange(20, 20 + 4 * n * 3, 3))[: 4 * n]  # distinct levels per crop
    tiles = np.repeat(np.repeat(grey.reshape(n, 2, 2), 8, axis=1), 8, axis=2)
    crop_z = np.repeat(z, 4)  # crop 4i + q is quadrant q of tile i
    features = grey[:, None] * SLOPES + INTERCEPTS
    off_train = (crop_z < 110) | (crop_z >= 379)
    features[off_train] += rng.normal(0, 5, (int(off_train.sum()), 5))
    data = Task3Data(tiles.astype(np.uint8)[:, None], z, np.arange(n) % 4, features, "2d")
    return data, grey.astype(np.float64), crop_z


def _r2(true: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - ((true - pred) ** 2).sum() / ((true - true.mean()) ** 2).sum())


@pytest.fixture(scope="module")
def case() -> tuple[dict, Task3Data, np.ndarray, np.ndarray]:
    data, grey, crop_z = _case()
    config = TASK3.make_config(None, {"method": "encoder", "encoder": "crop-mean", "seeds": [0],
                                      "input_size": 16, "alphas": [1e-9], "cv": 2})
    return run_task3(config, data, encoder=CropMean()), data, grey, crop_z


def test_split_sizes_count_each_split_boundary_once(case):
    result, _, _, _ = case
    # train 110..378 (6 tiles), val 380..408 (385, 408), test 420..469 (5 tiles); 4 crops each
    assert result["n_crops"] == {"train": 24, "val": 8, "test": 20, "all": 4 * 17}


def test_held_out_r2_scores_the_training_line_on_the_test_crops(case):
    result, data, grey, crop_z = case
    test = (crop_z >= 420) & (crop_z < 470)
    line = grey[test, None] * SLOPES + INTERCEPTS  # exact fit of the noiseless training crops
    np.testing.assert_allclose(result["scatter"]["true"], data.features[test])
    # float32 embeddings: the fit is exact to about 1e-7 of the feature scale
    np.testing.assert_allclose(result["scatter"]["pred"], line, rtol=0, atol=1e-3)
    for j, name in enumerate(FEATURE_NAMES):
        expected = _r2(data.features[test, j], line[:, j])
        assert 0 < expected < 1
        assert result["r2_test"][name]["mean"] == pytest.approx(expected, abs=1e-6), name


def test_in_sample_r2_is_the_squared_correlation_over_all_crops(case):
    # the released script: LinearRegression fitted and scored on every crop; with one
    # embedding dimension its R² is the squared Pearson correlation
    result, data, grey, _ = case
    for j, name in enumerate(FEATURE_NAMES):
        expected = np.corrcoef(grey, data.features[:, j])[0, 1] ** 2
        assert result["r2_in_sample_reference"][name]["mean"] == pytest.approx(expected), name
        assert result["r2_in_sample_reference"][name]["mean"] != pytest.approx(
            result["r2_test"][name]["mean"])


def test_feature_summary_is_over_all_crops(case):
    # the crops are the whole population described: population std (ddof 0)
    result, data, _, _ = case
    for j, name in enumerate(FEATURE_NAMES):
        column = data.features[:, j]
        std = np.sqrt(((column - column.mean()) ** 2).sum() / column.size)
        assert result["feature_summary"][name] == pytest.approx({"mean": column.mean(),
                                                                 "std": std}), name


def test_cross_validation_folds_are_cut_by_z_slice():
    # 4 training tiles on 2 distinct slices: 3 folds of whole slices cannot be cut (folds cut
    # by crop instead would split the 16 training crops and mix a slice's crops across folds)
    data, _, _ = _case()
    keep = np.isin(data.z, [110, 150, 200, 250, 420, 430])
    z = data.z[keep].copy()
    z[:4] = [110, 110, 150, 150]
    small = Task3Data(data.images[keep], z, data.region[keep],
                      data.features[np.repeat(keep, 4)], "2d")
    config = TASK3.make_config(None, {"method": "encoder", "encoder": "crop-mean", "seeds": [0],
                                      "input_size": 16, "alphas": [1e-9], "cv": 3})
    with pytest.raises(DataError, match="lower cv"):
        run_task3(config, small, encoder=CropMean())


class _BridgeInNextSampledSlice(VolumeSource):
    """In every box A: two one-pixel cells 4 px apart at slice 110 and, 180 slices later (the
    next slice read with z_step 180), a bar over both."""

    name = "bridge-next-sampled-slice"

    def __init__(self) -> None:
        super().__init__((480, 1420, 5805))

    def _read(self, channel, z, y, x):
        out = np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
        if channel != "pixel_labels":
            return out
        for box in SUBVOLUME_A.values():
            row, col = box.y[0] + 10 - y[0], box.x[0] + 10 - x[0]
            if not (0 <= row < out.shape[1] and 0 <= col + 4 < out.shape[2]):
                continue
            for slice_z, columns in ((110, [col, col + 4]), (290, slice(col, col + 5))):
                if z[0] <= slice_z < z[1]:
                    out[slice_z - z[0], row, columns] = CELL
        return out


def test_sampled_slices_are_labelled_one_by_one(monkeypatch):
    # slices 180 apart are not neighbours: the bar of slice 290 must not join slice 110's cells
    from mtneuro.tasks import semantic_probe

    monkeypatch.setattr(semantic_probe, "open_source",
                        lambda name, **kw: _BridgeInNextSampledSlice())
    data, _ = semantic_probe.load_task3_data(TASK3.make_config(None, {"method": "pca",
                                                                      "z_step": 180}))
    assert data.connectivity == "2d" and data.z[:2].tolist() == [110, 290]
    counts = data.features[:, list(FEATURE_NAMES).index("cell_count")]
    assert counts[[0, 4]].tolist() == [2, 1]  # top-left crops of cortex z 110 and z 290


def test_pixel_components_are_fitted_on_the_training_crops_only():
    # training crops vary in their first pixel only, test crops in another pixel only: one
    # PCA component fitted on the training crops is that first pixel, along which every test
    # crop sits at the same level, so every test prediction is the same number
    n_train, n_test = 8, 4
    z = np.array([110 + 10 * i for i in range(n_train)] + [420 + 10 * i for i in range(n_test)])
    rng = np.random.default_rng(1)
    crops = np.full((4 * z.size, 16, 16), 100, dtype=np.uint8)
    train = np.repeat(z < 379, 4)
    crops[train, 0, 0] = rng.integers(0, 255, int(train.sum()))
    crops[~train, 5, 5] = rng.integers(0, 255, int((~train).sum()))
    tiles = crops.reshape(z.size, 2, 2, 16, 16).transpose(0, 1, 3, 2, 4).reshape(z.size, 32, 32)
    features = rng.normal(0, 1, (4 * z.size, 5))
    data = Task3Data(tiles[:, None], z, np.arange(z.size) % 4, features, "2d")
    config = TASK3.make_config(None, {"method": "pca", "seeds": [0], "n_components": 1,
                                      "pixel_input_size": 32, "alphas": [1e-9], "cv": 2})
    pred = run_task3(config, data)["scatter"]["pred"]
    assert pred.shape == (4 * n_test, 5)
    np.testing.assert_allclose(pred, np.broadcast_to(pred[0], pred.shape), rtol=0, atol=1e-9)
