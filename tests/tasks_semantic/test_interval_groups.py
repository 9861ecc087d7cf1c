"""Task-3 R² intervals resample whole test tiles (a tile's four crops together), checked
against an explicit loop over tiles on small synthetic tiles."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from mtneuro.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, _resample_counts
from mtneuro.tasks.semantic_probe import Task3Data, run_task3
from mtneuro.tasks.semantic_task import TASK3

N_TRAIN, N_TEST = 30, 18


def _data(seed=0):
    """48 tiles of 32 x 32 (30 in the train z range, 18 in the test one), each quadrant a
    flat grey level plus noise; every feature is a noisy linear function of its crop's level,
    so the probe predicts them well but not perfectly (R² defined and below 1)."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    level = rng.uniform(40, 200, (n, 4))
    quadrants = np.repeat(np.repeat(level.reshape(n, 2, 2), 16, axis=1), 16, axis=2)
    images = np.clip(quadrants + rng.normal(0, 5, (n, 32, 32)), 0, 255).astype(np.uint8)
    z = np.concatenate([np.linspace(110, 370, N_TRAIN), np.linspace(420, 469, N_TEST)])
    crop_level = level.reshape(-1, 1)  # crop 4i + q is quadrant q (row-major) of tile i
    features = crop_level * rng.uniform(0.5, 2, (1, 5)) + rng.normal(0, 20, (4 * n, 5))
    return Task3Data(images[:, None], z.astype(np.int64), np.arange(n) % 4, features, "2d")


def _tile_loop(true, pred):
    """2.5 / 97.5 percentiles of R² per feature over the module's resamples of the test
    tiles, each drawn tile contributing its four (consecutive) crops."""
    n_tiles = len(true) // 4
    counts = _resample_counts(n_tiles, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).astype(int)
    draws = []
    for row in counts:
        crops = (4 * np.repeat(np.arange(n_tiles), row)[:, None] + np.arange(4)).ravel()
        draws.append(r2_score(true[crops], pred[crops], multioutput="raw_values"))
    return np.percentile(draws, [2.5, 97.5], axis=0)


def test_r2_intervals_resample_whole_test_tiles():
    config = TASK3.make_config(None, {"method": "pca", "seeds": [0], "n_components": 4,
                                      "pixel_input_size": 32, "cv": 3})
    result = run_task3(config, _data())
    assert result["n_crops"]["test"] == 4 * N_TEST
    intervals = result["intervals"]["r2_test"]
    assert set(intervals) == set(result["features"])
    true, pred = result["scatter"]["true"], result["scatter"]["pred"]
    low, high = _tile_loop(true, pred)
    for j, name in enumerate(result["features"]):
        interval = intervals[name]
        assert interval["n"] == N_TEST and interval["unit"].startswith("test tiles"), name
        assert 0 < interval["low"] < result["r2_test"][name]["mean"] < interval["high"] < 1, name
        assert [interval["low"], interval["high"]] == pytest.approx([low[j], high[j]]), name
