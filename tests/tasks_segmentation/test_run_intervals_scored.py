"""A 3D task-2 run with an end block records bootstrap intervals of the scored voxels only:
the intervals in ``per_seed`` are ``image_intervals`` of the run's predictions with the
dataset's ``scored`` mask, not of every voxel (which counts the end block's overlap twice)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

pytest.importorskip("monai", reason="needs mtneuro[seg]")

from grid_source import GridSource
from scale_net import ScaleNet

from mtneuro.data.datasets import SegmentationTileDataset
from mtneuro.data.spec import Z_SPLITS, segmentation_setting
from mtneuro.tasks.segmentation import run as run_module
from mtneuro.tasks.segmentation.config import task2_config

TILE = 256 * 256


def _same(a, b) -> bool:
    """Equal nested interval records (JSON text: NaN equals NaN)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_recorded_intervals_are_those_of_the_scored_voxels(monkeypatch):
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    seen = {}
    real_evaluate = run_module.evaluate_tiles

    def evaluate(model, images, masks, *args, **kwargs):
        scores, predictions = real_evaluate(model, images, masks, *args, **kwargs)
        seen.update(predictions=predictions, masks=masks, scored=kwargs.get("scored"))
        return scores, predictions

    monkeypatch.setattr(run_module, "evaluate_tiles", evaluate)
    # one region keeps the run tiny; its test range still ends with an end block
    monkeypatch.setattr(run_module, "SegmentationTileDataset",
                        functools.partial(SegmentationTileDataset, regions=("cortex",)))
    config = task2_config(None, classes=4, model="unet3d", train_z_step=20, window=256,
                          eval_batch_size=8,
                          train={"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1})
    metrics = run_module.run_task2(config, source=GridSource(), quiet=True)["metrics"]
    assert metrics["blocks"]["end_blocks"]["test"] == 1  # the case under test
    scored = seen["scored"]
    # each test voxel once (the end block's overlap left out)
    assert scored is not None and int(scored.sum()) == len(Z_SPLITS["test"]) * TILE
    names = segmentation_setting(4).class_names
    unit = "test blocks of 8 slices"  # 3D: the bootstrap resamples blocks, not images
    expected = run_module.image_intervals(seen["predictions"], seen["masks"], names, scored,
                                          unit=unit)
    every_voxel = run_module.image_intervals(seen["predictions"], seen["masks"], names,
                                             unit=unit)
    assert not _same(expected, every_voxel)  # the overlap changes the intervals here
    recorded = metrics["per_seed"][0]["intervals"]
    assert _same(recorded, expected)
    assert np.isfinite(recorded["avg_iou"]["low"])


@pytest.mark.parametrize("model", ["unet", "unet3d"])
def test_each_test_images_iou_row_averages_to_the_runs_per_class_iou(monkeypatch, model):
    """predictions.csv's rows (:func:`image_rows`): one per scored test image (3D: block)
    and seed, whose per-class IoU columns average to each seed's published ``iou``."""
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    monkeypatch.setattr(run_module, "SegmentationTileDataset",
                        functools.partial(SegmentationTileDataset, regions=("cortex",)))
    config = task2_config(None, classes=4, model=model, train_z_step=20, test_z_step=4,
                          window=256, eval_batch_size=8, seeds=[0, 1],
                          train={"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1})
    out = run_module.run_task2(config, source=GridSource(), quiet=True)
    rows, metrics = out["predictions"], out["metrics"]
    n = metrics["n_test_tiles"]
    assert rows["seed"].tolist() == [0] * n + [1] * n
    assert rows["image"][:n].tolist() == list(range(n)) and set(rows["region"]) == {"CTX"}
    for row in metrics["per_seed"]:
        mine = rows["seed"] == row["seed"]
        for name, value in row["scores"]["iou"].items():
            assert rows[f"iou_{name}"][mine].mean() == pytest.approx(value, abs=1e-12), name
