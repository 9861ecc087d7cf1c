"""Task-2 bootstrap intervals over test images (``image_intervals``), on hand-made label maps
checked against a plain loop over the same resamples scored by scikit-learn."""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from sklearn.metrics import f1_score, jaccard_score

from mtneuro.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, _resample_counts
from mtneuro.tasks.segmentation.run import image_intervals

CLASSES = ("background", "vessel", "cell")

# Five 4 x 4 label maps (the fewest a bootstrap interval is given for); class 2 (cell)
# appears in the third image only, so resamples without it leave its pooled F1 undefined
# (and its per-image IoU 1.0: absent from both).
MASKS = np.array([
    [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
    [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]],
    [[2, 2, 0, 0], [2, 2, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]],
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]],
    [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1]],
])
PREDICTIONS = np.array([
    [[0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    [[1, 1, 0, 0], [0, 0, 0, 0], [0, 2, 0, 0], [1, 1, 1, 0]],
    [[2, 0, 0, 0], [2, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 2]],
    [[0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0]],
    [[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1], [1, 1, 0, 1]],
])


def _loop(score):
    """2.5 / 97.5 percentiles of ``score(images drawn)`` over the module's resamples of the
    5 images (NaN-aware, like the module), NaN where more than 5% of the draws are NaN (a
    class too rare in the test images to have a 95% interval)."""
    counts = _resample_counts(len(MASKS), BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).astype(int)
    draws = np.array([score(tuple(np.repeat(np.arange(len(MASKS)), row))) for row in counts])
    ends = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return np.where(np.isnan(draws).mean(axis=0) > 0.05, np.nan, ends)


@functools.cache  # 5 images: 126 distinct resamples, each scored once (keeps this fast)
def _pooled_f1(i):
    """Per-class F1 of the pixels of images ``i`` pooled (NaN: class in neither)."""
    i = list(i)
    return f1_score(MASKS[i].ravel(), PREDICTIONS[i].ravel(), labels=[0, 1, 2], average=None,
                    zero_division=np.nan)


IMAGE_IOU = np.array([jaccard_score(m.ravel(), p.ravel(), labels=[0, 1, 2], average=None,
                                    zero_division=1.0) for m, p in zip(MASKS, PREDICTIONS)])


def _image_iou(i):
    """Per-class IoU of each image ``i`` (1.0 where a class is in neither), ``(len(i), 3)``."""
    return IMAGE_IOU[list(i)]


def _close(interval, low_high):
    return [interval["low"], interval["high"]] == pytest.approx(list(low_high), nan_ok=True)


def test_image_intervals_match_a_resample_loop():
    out = image_intervals(PREDICTIONS, MASKS, CLASSES)
    f1_low, f1_high = _loop(_pooled_f1)
    iou_low, iou_high = _loop(lambda i: _image_iou(i).mean(axis=0))
    for c, name in enumerate(CLASSES):
        assert _close(out["f1"][name], (f1_low[c], f1_high[c])), name
        assert _close(out["iou"][name], (iou_low[c], iou_high[c])), name
    assert _close(out["avg_f1"], _loop(lambda i: np.nanmean(_pooled_f1(i))))
    # the published average IoU: per image, then over images and classes
    assert _close(out["avg_iou"], _loop(lambda i: _image_iou(i).mean()))
    assert out["avg_iou"]["n"] == 5 and out["avg_iou"]["unit"] == "test images"
    # the case tells the averages apart (a swapped key would not go unnoticed)
    assert not _close(out["avg_iou"], (out["avg_f1"]["low"], out["avg_f1"]["high"]))


def test_a_perfect_prediction_gives_point_intervals_at_one():
    """Every resample scores 1; the F1 of cell, in one image of five, is undefined in the
    ~33% of resamples that miss that image: too many for a 95% interval, so it has none."""
    out = image_intervals(MASKS, MASKS, CLASSES)
    for key, name in [("f1", "background"), ("f1", "vessel")] + [("iou", n) for n in CLASSES]:
        assert out[key][name]["low"] == out[key][name]["high"] == 1.0, (key, name)
    assert np.isnan(out["f1"]["cell"]["low"]) and np.isnan(out["f1"]["cell"]["high"])
    for key in ("avg_f1", "avg_iou"):
        assert out[key]["low"] == out[key]["high"] == 1.0, key
