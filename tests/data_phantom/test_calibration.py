"""The phantom's statistics against the real annotations and the real slice."""

from __future__ import annotations

import pytest
from phantom_calibration import (
    MASK_OF_REGION,
    REAL_IMAGE_STATS,
    REAL_LABEL_STATS,
    SLICE_LEVELS,
    compare,
    image_stats,
    label_stats,
    phantom_stats,
    quantise_like_slice,
)

from mtneuro.data.shared import load_masks, load_slice
from mtneuro.data.sources import open_source
from mtneuro.data.spec import REGIONS, SUBVOLUME_A


@pytest.fixture(scope="module")
def real_stats(shared_data):
    """Recomputed from the files, not taken from the constants."""
    image = load_slice(shared_data)
    stats = {}
    for region in REGIONS:
        box = SUBVOLUME_A[region]
        stats[region] = {
            "labels": label_stats(load_masks(MASK_OF_REGION[region], shared_data)),
            "image": image_stats(image[box.y[0] : box.y[1], box.x[0] : box.x[1]]),
        }
    return stats


@pytest.fixture(scope="module")
def phantom():
    return phantom_stats(open_source("phantom", seed=0))


@pytest.mark.parametrize("region", REGIONS)
def test_stated_calibration_constants_are_the_real_numbers(real_stats, region):
    for key, value in REAL_LABEL_STATS[region].items():
        assert real_stats[region]["labels"][key] == pytest.approx(
            value, abs=1e-4 if key != "cell_area" else 0.05
        )
    for key, value in REAL_IMAGE_STATS[region].items():
        tolerance = 5e-4 if key == "lag1" else 0.05
        assert real_stats[region]["image"][key] == pytest.approx(value, abs=tolerance)


@pytest.mark.parametrize("region", REGIONS)
def test_phantom_labels_match_real_annotations(real_stats, phantom, region):
    assert compare(phantom[region]["labels"], real_stats[region]["labels"], "labels") == []


@pytest.mark.parametrize("region", REGIONS)
def test_phantom_image_matches_real_slice(real_stats, phantom, region):
    assert compare(phantom[region]["image"], real_stats[region]["image"], "image") == []


def test_regions_keep_their_real_ordering(real_stats, phantom):
    # thalamus (VP) is the brightest box and cortex the least varied, in both
    for stats in (real_stats, phantom):
        means = {r: stats[r]["image"]["mean"] for r in REGIONS}
        stds = {r: stats[r]["image"]["std"] for r in REGIONS}
        assert max(means, key=means.get) == "thalamus"
        assert min(stds, key=stds.get) == "cortex"


def test_compare_flags_what_is_off():
    real = {"vessel": 0.02, "cell": 0.03, "axon": 0.0, "cell_area": 40.0}
    off = {"vessel": 0.02, "cell": 0.06, "axon": 0.0, "cell_area": 40.0}
    assert compare(real, real, "labels") == []
    assert compare(off, real, "labels") == ["cell: phantom 0.06, real 0.03"]


def test_quantise_like_slice_hits_published_levels():
    import numpy as np

    values = np.arange(256, dtype=np.uint8)
    out = quantise_like_slice(values)
    assert set(np.unique(out)) == set(SLICE_LEVELS.tolist())
    assert np.array_equal(quantise_like_slice(SLICE_LEVELS), SLICE_LEVELS)
    assert (
        quantise_like_slice(np.array([150]))[0] == 147
        and quantise_like_slice(np.array([153]))[0] == 156
    )
