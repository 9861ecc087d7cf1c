"""Dataset arguments given the easy way: one region as a plain string (it was split into
letters: ``unknown region 'c'``), a source by its name (it failed on ``'str'.shape``), and
a clear error for something that is neither a source nor a name."""

from __future__ import annotations

import numpy as np
import pytest
from grid_source import GridSource

from mtneuro.data.datasets import RegionTileDataset, SegmentationTileDataset
from mtneuro.data.sources import open_source
from mtneuro.errors import ConfigError


def test_one_region_given_as_a_string_is_that_region_not_its_letters():
    one = SegmentationTileDataset(GridSource(), classes=4, split="val", z_step=10,
                                  regions="cortex", progress=False)
    listed = SegmentationTileDataset(GridSource(), classes=4, split="val", z_step=10,
                                     regions=["cortex"], progress=False)
    assert one.regions == ("cortex",)
    assert np.array_equal(one.images, listed.images) and one.region.tolist() == [0, 0, 0]


@pytest.mark.parametrize("regions, needle", [((), "regions: expected at least one of"),
                                             (5, "regions: expected region names from"),
                                             ("cortx", "did you mean 'cortex'")])
def test_no_region_or_an_unknown_one_is_refused_naming_the_argument(regions, needle):
    with pytest.raises(ConfigError, match=needle):
        SegmentationTileDataset(GridSource(), classes=4, split="val", regions=regions,
                                progress=False)


def test_a_source_name_opens_that_source():
    by_name = RegionTileDataset("phantom", "roi-c1", "val", z_step=20, progress=False)
    by_object = RegionTileDataset(open_source("phantom"), "roi-c1", "val", z_step=20,
                                  progress=False)
    assert by_name.source.name == "phantom"
    assert np.array_equal(by_name.images, by_object.images)


@pytest.mark.parametrize("cls", [RegionTileDataset, SegmentationTileDataset])
@pytest.mark.parametrize("bad", [np.zeros((2, 8, 8)), 5])
def test_something_neither_a_source_nor_a_name_says_how_to_get_one(cls, bad):
    with pytest.raises(TypeError, match=r"source: expected a volume source, e\.g\. "
                                        r"mtneuro\.data\.open_source\('phantom'\), or its name"):
        cls(bad)


def test_an_unknown_source_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown source 'nope'.*valid: phantom"):
        RegionTileDataset("nope")


def test_a_source_reads_one_channel_given_as_a_string():
    source = GridSource()
    block = source.read((0, 2), (0, 4), (0, 4), channels="image")
    assert block.image.shape == (2, 4, 4)
    assert source.check_request([(0, 2), None, None], "image", "grid")[1] == ["image"]


@pytest.mark.parametrize("dataset", [RegionTileDataset, SegmentationTileDataset])
def test_a_transform_that_is_not_callable_is_refused_at_construction(dataset):
    # it was kept, and ds[0] failed with "'int' object is not callable"
    with pytest.raises(ConfigError, match=r"^transform: expected a callable .*, got int 5$"):
        dataset(GridSource(), transform=5, progress=False)
