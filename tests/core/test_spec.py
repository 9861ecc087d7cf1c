import numpy as np
import pytest

from mtneuro.data.spec import (
    REGION_SETTINGS,
    SUBVOLUME_A,
    Z_SPLITS,
    Box,
    region_setting,
    segmentation_setting,
)
from mtneuro.errors import ConfigError


def test_published_definitions():
    assert SUBVOLUME_A["cortex"] == Box(x=(4600, 4856), y=(900, 1156))
    assert SUBVOLUME_A["zona_incerta"] == Box(x=(1543, 1799), y=(650, 906))
    assert all(b.shape == (256, 256) for b in SUBVOLUME_A.values())
    # the reference code's half-open train range gives 4 x 269 = 1,076 ROI-C1 tiles
    assert len(Z_SPLITS["train"]) == 269 and len(Z_SPLITS["test"]) == 50


def test_segmentation_label_maps():
    labels = np.array([0, 1, 2, 3])
    assert segmentation_setting(4).map_labels(labels).tolist() == [0, 1, 2, 3]
    assert segmentation_setting(3).map_labels(labels).tolist() == [0, 1, 2, 0]
    assert "zona_incerta" not in segmentation_setting(4).regions
    with pytest.raises(ConfigError, match="classes: expected 3 or 4, got 5"):
        segmentation_setting(5)
    with pytest.raises(ValueError, match="0..3"):
        segmentation_setting(4).map_labels(np.array([4]))


def test_region_settings():
    c1, c2, c3 = (REGION_SETTINGS[k] for k in ("roi-c1", "roi-c2", "roi-c3"))
    assert [p.subvolume for p in c1.test] == ["A"] and c1.test[0].z == Z_SPLITS["test"]
    assert [p.subvolume for p in c2.test] == ["C", "D"] and len(c2.test[0].z) == 360
    assert [p.subvolume for p in c3.train] == ["A", "B"]
    assert region_setting("ROI-C2") is c2
    with pytest.raises(ConfigError, match="unknown setting 'roi-c4'"):
        region_setting("roi-c4")
    with pytest.raises(ConfigError, match="box.x"):
        Box(x=(5, 5), y=(0, 1))
