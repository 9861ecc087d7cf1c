"""``segmentation_setting`` takes the ints 3 and 4 only: 4.0 (or NumPy's 4.0) compares equal to
4, so a dict-membership test took it and a float class count went on into the run."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.data.spec import segmentation_setting
from mtneuro.errors import ConfigError


@pytest.mark.parametrize(("value", "twin", "named"), [
    (4.0, 4, "got 4.0 (float, not an int)"),
    (3.0, 3, "got 3.0 (float, not an int)"),
    (np.float64(4.0), np.int64(4), "(float64, not an int)"),
    (np.float32(3.0), np.uint8(3), "(float32, not an int)"),
])
def test_a_float_class_count_is_refused_while_its_int_twin_is_taken(value, twin, named):
    with pytest.raises(ConfigError, match="classes: expected 3 or 4, got") as caught:
        segmentation_setting(value)
    assert named in str(caught.value)
    assert segmentation_setting(twin).n_classes == twin  # NumPy integers stay welcome


@pytest.mark.parametrize("value", [True, "4", [4], None])
def test_values_that_are_no_int_are_refused_in_one_config_error(value):
    with pytest.raises(ConfigError, match=rf"\({type(value).__name__}, not an int\)$"):
        segmentation_setting(value)
