"""Known-answer tests of the task-2 scores (pooled F1, per-image IoU) and label maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score, jaccard_score

from mtneuro.data.spec import REGIONS, SEGMENTATION_SETTINGS
from mtneuro.tasks.segmentation.metrics import (
    ConfusionAccumulator,
    confusion_matrix,
    per_image_iou,
    segmentation_scores,
)


def test_confusion_matrix_hand_computed():
    target = np.array([[0, 0, 1], [1, 2, 2]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    # rows truth, columns prediction
    expected = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert confusion_matrix(pred, target, 3).tolist() == expected


def test_scores_hand_computed_with_absent_class():
    # 4 classes; class 3 is in neither truth nor prediction of this tile.
    target = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 1, 1, 1, 2, 2, 0])
    scores = ConfusionAccumulator(4)
    scores.update(pred[None], target[None])  # one image
    s = scores.scores(["bg", "vessel", "cell", "axon"])
    # class 0: tp 2, fp 1, fn 1 -> F1 4/6, IoU 2/4; class 1: tp 2, fp 1, fn 0 -> F1 4/5, IoU 2/3
    # class 2: tp 2, fp 0, fn 1 -> F1 4/5, IoU 2/3
    assert s["f1"]["bg"] == pytest.approx(4 / 6)
    assert s["f1"]["vessel"] == pytest.approx(4 / 5)
    assert s["f1"]["cell"] == pytest.approx(4 / 5)
    assert s["iou_pooled"]["bg"] == pytest.approx(0.5)
    assert s["iou_pooled"]["cell"] == pytest.approx(2 / 3)
    assert math.isnan(s["f1"]["axon"]) and math.isnan(s["iou_pooled"]["axon"])
    # published IoU: the absent class scores 1.0 on this (only) image, as smp's zero_division
    assert s["iou"] == pytest.approx({"bg": 0.5, "vessel": 2 / 3, "cell": 2 / 3, "axon": 1.0})
    assert s["avg_iou"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3 + 1) / 4)
    assert math.isnan(s["recall"]["axon"])
    assert s["avg_f1"] == pytest.approx((4 / 6 + 4 / 5 + 4 / 5) / 3)
    assert s["avg_iou_pooled"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    # counts pooled over the non-background classes, TN = 8 - TP - FP - FN: vessel TP 2,
    # FN 0, FP 1, TN 5; cell TP 2, FN 1, FP 0, TN 5; axon (absent) TN 8
    assert s["specificity"]["vessel"] == pytest.approx(5 / 6)
    assert s["balanced_accuracy"] == pytest.approx((4 / 5 + 18 / 19) / 2)
    assert s["pixel_accuracy"] == pytest.approx(6 / 8)
    assert s["support"] == {"bg": 3, "vessel": 2, "cell": 3, "axon": 0}


def test_class_only_in_truth_or_only_in_prediction_scores_zero():
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 0, 2])
    s = segmentation_scores(confusion_matrix(pred, target, 3))
    assert s["f1"]["1"] == 0.0  # in truth, never predicted
    assert s["f1"]["2"] == 0.0  # predicted, never true
    assert s["recall"]["1"] == 0.0
    assert math.isnan(s["recall"]["2"])  # no true pixels: recall undefined, left out
    # pooled over classes 1 (TP 0, FN 2, FP 0, TN 2) and 2 (TP 0, FN 0, FP 1, TN 3):
    # sensitivity 0 / 2, specificity 5 / 6; background not counted
    assert s["balanced_accuracy"] == pytest.approx((0.0 + 5 / 6) / 2)


def test_balanced_accuracy_is_the_references_over_non_background_classes():
    """task2_main.py:267-269: sensitivity and specificity of the counts summed over classes
    1.., then their mean."""
    cm = np.array([[6, 1, 1],   # rows truth, columns prediction; 14 pixels
                   [1, 2, 1],
                   [0, 0, 2]])
    s = segmentation_scores(cm)
    # class 1: TP 2, FN 2, FP 1, TN 14 - 5 = 9 -> (2/4 + 9/10) / 2 = 0.7
    # class 2: TP 2, FN 0, FP 2, TN 14 - 4 = 10 -> (2/2 + 10/12) / 2 = 11/12
    assert s["specificity"]["1"] == pytest.approx(0.9)
    assert s["specificity"]["2"] == pytest.approx(10 / 12)
    # sensitivity (2 + 2) / (4 + 2), specificity (9 + 10) / (10 + 12)
    assert s["balanced_accuracy"] == pytest.approx((4 / 6 + 19 / 22) / 2)
    # not the mean over classes of each class's own ((0.7 + 11/12) / 2), nor the mean recall
    # over all classes, background included ((6/8 + 2/4 + 1) / 3 = 0.75)
    assert s["balanced_accuracy"] != pytest.approx((0.7 + 11 / 12) / 2)
    assert s["balanced_accuracy"] != pytest.approx(0.75)


def test_accumulating_batches_equals_one_shot_and_matches_sklearn():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, size=(10, 16, 16))
    pred = np.where(rng.random(target.shape) < 0.7, target, rng.integers(0, 4, size=target.shape))
    pooled = ConfusionAccumulator(4)
    for i in range(0, 10, 3):
        pooled.update(pred[i : i + 3], target[i : i + 3])
    one_shot = confusion_matrix(pred, target, 4)
    np.testing.assert_array_equal(pooled.matrix, one_shot)
    np.testing.assert_array_equal(
        one_shot, sk_confusion(target.ravel(), pred.ravel(), labels=range(4))
    )
    s = pooled.scores()
    np.testing.assert_allclose(
        list(s["f1"].values()), f1_score(target.ravel(), pred.ravel(), average=None)
    )
    np.testing.assert_allclose(
        list(s["iou_pooled"].values()), jaccard_score(target.ravel(), pred.ravel(), average=None)
    )
    per_image = [jaccard_score(t.ravel(), p.ravel(), average=None) for p, t in zip(pred, target)]
    np.testing.assert_allclose(list(s["iou"].values()), np.mean(per_image, axis=0))


def test_pooled_scores_differ_from_per_batch_average():
    # One tile with a large correct cell and one with a single wrong cell pixel:
    # pooling weights pixels, averaging per-tile scores would weight tiles.
    target = np.zeros((2, 4, 4), dtype=int)
    target[0, :2] = 1
    target[1, 0, 0] = 1
    pred = target.copy()
    pred[1, 0, 0] = 0
    pooled = segmentation_scores(confusion_matrix(pred, target, 2))["f1"]["1"]
    per_tile = [
        segmentation_scores(confusion_matrix(p, t, 2))["f1"]["1"] for p, t in zip(pred, target)
    ]
    assert pooled == pytest.approx(2 * 8 / (2 * 8 + 1))
    assert np.mean(per_tile) == pytest.approx(0.5)


def test_labels_out_of_range_raise():
    with pytest.raises(ValueError, match="0..2"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


@pytest.mark.parametrize(
    "classes, mapped, regions",
    [(4, [0, 1, 2, 3], ("cortex", "striatum", "thalamus")), (3, [0, 1, 2, 0], REGIONS)],
)
def test_task2_label_maps(classes, mapped, regions):
    setting = SEGMENTATION_SETTINGS[classes]
    assert setting.map_labels(np.array([0, 1, 2, 3])).tolist() == mapped
    assert setting.regions == regions
    assert len(setting.class_names) == classes


def test_per_image_iou_of_the_issue_example():
    # Two tiles without axon (class 1) pixels in their truth: the first predicts none
    # (smp: 0 / 0 -> 1.0), the second predicts 10 (0 / 10 = 0). Reference: (1.0 + 0.0) / 2.
    truth = np.zeros((2, 10, 10), dtype=np.int64)
    pred = truth.copy()
    pred[1, 0, :] = 1
    iou = per_image_iou(pred, truth, 2)
    assert iou[1] == pytest.approx(0.5)
    assert iou[0] == pytest.approx((1.0 + 90 / 100) / 2)  # background: 100/100, then 90/100
    pooled = segmentation_scores(confusion_matrix(pred, truth, 2))
    assert pooled["iou_pooled"]["1"] == 0.0 and "iou" not in pooled  # 0 / 10, not the published name


def test_per_image_iou_empty_class_perfect_tile_and_3d_blocks():
    # a class in no image at all scores 1.0 on every image; a perfect tile scores 1.0
    truth = np.array([[[0, 1], [1, 0]]])
    assert per_image_iou(truth, truth, 3).tolist() == [1.0, 1.0, 1.0]
    # 3D blocks (N, D, H, W): one image per block, IoU over all its voxels
    blocks = np.zeros((2, 2, 2, 2), dtype=np.int64)
    blocks[0, 0, 0, 0] = 2  # block 0 holds one class-2 voxel
    pred = np.zeros_like(blocks)  # predicted nowhere
    iou = per_image_iou(pred, blocks, 3)
    assert iou.tolist() == pytest.approx([(7 / 8 + 1.0) / 2, 1.0, (0.0 + 1.0) / 2])
    acc = ConfusionAccumulator(3)
    acc.update(pred[:1], blocks[:1])
    acc.update(pred[1:], blocks[1:])
    np.testing.assert_allclose(list(acc.scores()["iou"].values()), iou)
    assert acc.n_images == 2
