"""The ``scored`` mask of the task-2 scores must have the label maps' shape: a mask of the same
size but another shape (e.g. transposed blocks) would select other voxels without an error."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.tasks.segmentation.metrics import ConfusionAccumulator, per_image_confusion

# two 2-slice blocks of 2 x 3 pixels; the prediction is wrong on the first slice only
TARGET = np.zeros((2, 2, 2, 3), dtype=np.int64)
PREDICTION = TARGET.copy()
PREDICTION[:, 0] = 1
SECOND_SLICE = np.zeros(TARGET.shape, dtype=bool)
SECOND_SLICE[:, 1] = True


def test_a_mask_of_the_maps_shape_selects_its_voxels():
    confusions = per_image_confusion(PREDICTION, TARGET, 2, SECOND_SLICE)
    assert confusions.tolist() == [[[6, 0], [0, 0]]] * 2  # the wrong slice left out


@pytest.mark.parametrize("shape", [(2, 2, 3, 2), (4, 2, 3), (24,), (2, 12)])
def test_a_mask_of_the_same_size_but_another_shape_is_refused(shape):
    scored = SECOND_SLICE.reshape(shape)
    with pytest.raises(ValueError, match=r"scored has shape .*target \(2, 2, 2, 3\)"):
        per_image_confusion(PREDICTION, TARGET, 2, scored)
    with pytest.raises(ValueError, match="scored has shape"):
        ConfusionAccumulator(2).update(PREDICTION, TARGET, scored)
