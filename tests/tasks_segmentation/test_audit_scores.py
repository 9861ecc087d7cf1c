"""Task-2 scores that the existing tests left unpinned (mutation audit): precision, the
recorded confusion matrix's orientation and the label range check, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from mtneuro.tasks.segmentation.metrics import ConfusionAccumulator, segmentation_scores

# rows truth, columns prediction; 14 pixels
MATRIX = np.array([[6, 1, 1],
                   [1, 2, 1],
                   [0, 0, 2]])


def test_precision_and_recall_by_hand():
    s = segmentation_scores(MATRIX)
    # precision TP / column sum, recall TP / row sum
    assert s["precision"] == pytest.approx({"0": 6 / 7, "1": 2 / 3, "2": 2 / 4})
    assert s["recall"] == pytest.approx({"0": 6 / 8, "1": 2 / 4, "2": 2 / 2})


def test_precision_and_recall_equal_scikit_learn_per_class():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 3, size=(4, 8, 8))
    pred = np.where(rng.random(target.shape) < 0.6, target, rng.integers(0, 3, target.shape))
    pred[pred == 2] = 1  # skew the prediction so precision and recall differ for every class
    acc = ConfusionAccumulator(3)
    acc.update(pred, target)
    s = acc.scores()
    true, guess = target.ravel(), pred.ravel()
    kwargs = {"average": None, "labels": [0, 1, 2], "zero_division": np.nan}
    precision, recall = (f(true, guess, **kwargs) for f in (precision_score, recall_score))
    assert not np.allclose(precision, recall)
    np.testing.assert_allclose(list(s["precision"].values()), precision)
    np.testing.assert_allclose(list(s["recall"].values()), recall)


def test_recorded_confusion_matrix_has_truth_in_rows():
    target = np.array([[0, 0, 0, 1]])
    pred = np.array([[1, 1, 0, 1]])  # two background pixels called class 1
    acc = ConfusionAccumulator(2)
    acc.update(pred, target)
    assert acc.scores()["confusion_matrix"] == [[1, 2], [0, 1]]
    assert segmentation_scores(MATRIX)["confusion_matrix"] == MATRIX.tolist()


@pytest.mark.parametrize("image", [0, 1])
def test_negative_labels_raise_in_any_image(image):
    # a -1 in image 1 would otherwise land silently in image 0's counts (key arithmetic)
    target = np.zeros((2, 2, 2), dtype=np.int64)
    target[image, 0, 0] = -1
    with pytest.raises(ValueError, match=r"0\.\.2"):
        ConfusionAccumulator(3).update(np.zeros_like(target), target)
