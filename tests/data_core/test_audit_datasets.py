"""Datasets return what they document, on sources that take the less common paths: no
region labels, and a subset of the segmentation regions."""

from __future__ import annotations

from grid_source import GridSource

from mtneuro.data.datasets import RegionTileDataset, SegmentationTileDataset
from mtneuro.data.spec import REGIONS


class _NoRoi(GridSource):
    def __init__(self) -> None:
        super().__init__()
        self.channels = ("image",)


def test_tiles_of_a_source_without_roi_labels_are_labelled_by_their_box():
    """Validation slices 380, 390, 400 of each region's box A, labelled 0..3 in REGIONS order."""
    ds = RegionTileDataset(_NoRoi(), "roi-c1", "val", z_step=10, progress=False)
    assert ds.labels.tolist() == [c for c in range(len(REGIONS)) for _ in range(3)]
    assert ds.z.tolist() == [380, 390, 400] * len(REGIONS)
    assert [ds[i]["label"] for i in (0, 3, 6, 9)] == [0, 1, 2, 3]


def test_a_region_subset_keeps_each_regions_own_index():
    """``region`` is the index in REGIONS (striatum 1, zona incerta 3), not in the subset."""
    ds = SegmentationTileDataset(GridSource(), classes=3, split="val", z_step=10,
                                 regions=("striatum", "zona_incerta"), progress=False)
    assert ds.region.tolist() == [1, 1, 1, 3, 3, 3]
    assert ds[0]["region"] == 1 and ds[5]["region"] == 3
