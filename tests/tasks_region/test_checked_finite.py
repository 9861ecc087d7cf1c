"""A single NaN or inf among the features is enough to refuse them: no readout is fitted."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.errors import DataError
from mtneuro.tasks.probe import checked_finite


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_non_finite_value_among_the_features_is_refused(bad):
    features = np.ones((3, 4), dtype=np.float32)
    features[1, 2] = bad
    with pytest.raises(DataError, match=r"encoder E: 1 of its 12 feature values are NaN or inf"):
        checked_finite(features, "encoder E")


def test_finite_features_come_back_unchanged():
    features = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert checked_finite(features, "encoder E") is features
