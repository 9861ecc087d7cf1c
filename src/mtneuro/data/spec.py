"""The MTNeuro task definitions: regions, boxes, z splits, label maps, settings.

Everything here reproduces the published MTNeuro configuration
(``taskconfig/task1.json``, ``task2_*.json``; see ``docs/protocols.md``):

* four region boxes (sub-volume A) of 256 x 256 voxels in x/y, 1.17 um voxels;
* z splits, half-open as the reference code uses them: train ``[110, 379)``
  (269 slices, so ROI-C1 has 4 x 269 = 1,076 training tiles), validation
  ``[380, 409)``, test ``[420, 470)``; a whole sub-volume spans ``[110, 470)``;
* ``roi_labels`` ids -> region class by the most frequent id of a tile;
* the 4-class (no zona incerta) and 3-class (axons merged into background)
  segmentation label maps on the BossDB ``pixel_labels`` convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mtneuro.errors import ConfigError
from mtneuro.registry import check_choice

VOXEL_SIZE_UM = 1.17

REGIONS: tuple[str, ...] = ("cortex", "striatum", "thalamus", "zona_incerta")
REGION_SHORT = {"cortex": "CTX", "striatum": "STR", "thalamus": "VP", "zona_incerta": "ZI"}
#: The regions' short names in :data:`REGIONS` order (task 1's class names).
REGION_ABBREVIATIONS: tuple[str, ...] = tuple(REGION_SHORT[r] for r in REGIONS)

#: ``prasad/prasad_analysis/roi_labels`` ids.
ROI_NAMES = {
    0: "clear",
    1: "cortex",
    2: "striatum",
    3: "TRN",
    4: "VP",
    5: "zona incerta",
    6: "internal capsule",
    7: "hypothalamus",
    8: "corpus callosum",
}
#: roi id -> region class index (MTNeuro task 1).
ROI_TO_CLASS = {0: 0, 1: 0, 2: 1, 8: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}

#: ``prasad/prasad_analysis/pixel_labels`` convention (what tasks 2 and 3 read).
PIXEL_CLASSES: tuple[str, ...] = ("background", "vessel", "cell", "axon")
BACKGROUND, VESSEL, CELL, AXON = 0, 1, 2, 3


@dataclass(frozen=True)
class Box:
    """A window in the x/y plane, half-open voxel ranges at resolution 0."""

    x: tuple[int, int]
    y: tuple[int, int]

    def __post_init__(self) -> None:
        for axis, (lo, hi) in (("x", self.x), ("y", self.y)):
            if not (0 <= lo < hi):
                raise ConfigError(f"box.{axis}: expected 0 <= start < stop, got {(lo, hi)}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``: the y and x extents, in voxels."""
        return (self.y[1] - self.y[0], self.x[1] - self.x[0])

    def overlaps(self, other: Box) -> bool:
        """Whether the two windows share a voxel (touching edges do not: ranges are half-open)."""
        return (
            self.x[0] < other.x[1]
            and other.x[0] < self.x[1]
            and self.y[0] < other.y[1]
            and other.y[0] < self.y[1]
        )


@dataclass(frozen=True)
class ZRange:
    """Half-open range of slices."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.stop):
            raise ConfigError(f"z range: expected 0 <= start < stop, got {(self.start, self.stop)}")

    def __len__(self) -> int:
        return self.stop - self.start


#: Sub-volume A of each region (the published boxes).
SUBVOLUME_A: dict[str, Box] = {
    "cortex": Box(x=(4600, 4856), y=(900, 1156)),
    "striatum": Box(x=(3700, 3956), y=(500, 756)),
    "thalamus": Box(x=(3063, 3319), y=(850, 1106)),
    "zona_incerta": Box(x=(1543, 1799), y=(650, 906)),
}

TILE_SIZE = 256
SUBVOLUME_Z = ZRange(110, 470)
Z_SPLITS: dict[str, ZRange] = {
    "train": ZRange(110, 379),
    "val": ZRange(380, 409),
    "test": ZRange(420, 470),
}
SPLITS = tuple(Z_SPLITS)


def check_crop(crop: int | None, key: str, side: int = TILE_SIZE,
               what: str = "a volume tile") -> None:
    """A crop fits in images of ``side`` pixels (by default a volume tile): a larger one is
    refused, never clamped silently.

    Raises:
        ConfigError: ``crop`` is larger than ``side`` (the message names ``key``).
    """
    if crop is not None and crop > side:
        raise ConfigError(f"{key}: expected at most {side} (the side of {what}), got {crop}")


def roi_class_map(roi: np.ndarray) -> np.ndarray:
    """Map roi ids to region classes elementwise; unknown ids become -1."""
    lut = np.full(max(ROI_NAMES) + 1, -1, dtype=np.int8)
    for roi_id, cls in ROI_TO_CLASS.items():
        lut[roi_id] = cls
    roi = np.asarray(roi).astype(np.int64)
    out = np.full(roi.shape, -1, dtype=np.int8)
    known = (roi >= 0) & (roi < lut.size)
    out[known] = lut[roi[known]]
    return out


# ---------------------------------------------------------------- segmentation
@dataclass(frozen=True)
class SegmentationSetting:
    """A task-2 setting: which regions, and how pixel labels map to classes."""

    n_classes: Literal[3, 4]
    regions: tuple[str, ...]
    class_names: tuple[str, ...]
    label_map: tuple[int, ...]  # pixel_labels value -> class index

    def map_labels(self, pixel_labels: np.ndarray) -> np.ndarray:
        """Map BossDB ``pixel_labels`` values (0..3) to this setting's classes (uint8: the
        masks' type, gathered without an int64 copy)."""
        lut = np.asarray(self.label_map, dtype=np.uint8)
        labels = np.asarray(pixel_labels)
        if labels.size and (labels.min() < 0 or labels.max() >= lut.size):
            raise ValueError(
                f"pixel labels must lie in 0..{lut.size - 1}, got range "
                f"{int(labels.min())}..{int(labels.max())}"
            )
        return lut[labels]


SEGMENTATION_SETTINGS: dict[int, SegmentationSetting] = {
    4: SegmentationSetting(
        n_classes=4,
        regions=("cortex", "striatum", "thalamus"),
        class_names=("background", "vessel", "cell", "axon"),
        label_map=(0, 1, 2, 3),
    ),
    3: SegmentationSetting(
        n_classes=3,
        regions=REGIONS,
        class_names=("background+axon", "vessel", "cell"),
        label_map=(0, 1, 2, 0),
    ),
}


def segmentation_setting(n_classes: int) -> SegmentationSetting:
    """The task-2 setting of ``n_classes`` (the int 3 or 4; NumPy integers too).

    Raises:
        ConfigError: ``n_classes`` is neither, or not an integer (4.0 compares equal to 4,
            so a membership test alone would take it).
    """
    kind = type(n_classes).__name__
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool):
        raise ConfigError(f"classes: expected 3 or 4, got {n_classes!r} ({kind}, not an int)")
    if int(n_classes) not in SEGMENTATION_SETTINGS:
        raise ConfigError(f"classes: expected 3 or 4, got {n_classes!r} ({kind})")
    return SEGMENTATION_SETTINGS[int(n_classes)]


# ---------------------------------------------------------------- region settings
@dataclass(frozen=True)
class Part:
    """One piece of a split: sub-volume ``letter`` of every region over ``z``."""

    subvolume: Literal["A", "B", "C", "D"]
    z: ZRange


@dataclass(frozen=True)
class RegionSetting:
    """A task-1 setting (ROI-C1/C2/C3): which sub-volumes and slices feed each split."""

    name: str
    description: str
    train: tuple[Part, ...]
    val: tuple[Part, ...]
    test: tuple[Part, ...]

    def parts(self, split: str) -> tuple[Part, ...]:
        """The parts feeding ``split`` (``"train"``, ``"val"`` or ``"test"``; else ConfigError)."""
        check_choice("split", split, SPLITS)
        return getattr(self, split)

    @property
    def subvolumes(self) -> tuple[str, ...]:
        """The sub-volume letters any split reads, sorted."""
        letters = {p.subvolume for s in SPLITS for p in self.parts(s)}
        return tuple(sorted(letters))


_A_TRAIN = Part("A", Z_SPLITS["train"])
_A_VAL = Part("A", Z_SPLITS["val"])
REGION_SETTINGS: dict[str, RegionSetting] = {
    "roi-c1": RegionSetting(
        name="roi-c1",
        description=("train on slices 110-378 of sub-volume A (validation 380-408), test on "
                     "slices 420-469"),
        train=(_A_TRAIN,),
        val=(_A_VAL,),
        test=(Part("A", Z_SPLITS["test"]),),
    ),
    "roi-c2": RegionSetting(
        name="roi-c2",
        description="train as ROI-C1, test on all slices of sub-volumes C and D",
        train=(_A_TRAIN,),
        val=(_A_VAL,),
        test=(Part("C", SUBVOLUME_Z), Part("D", SUBVOLUME_Z)),
    ),
    "roi-c3": RegionSetting(
        name="roi-c3",
        description="train on sub-volumes A and B, test on sub-volumes C and D",
        train=(_A_TRAIN, Part("B", SUBVOLUME_Z)),
        val=(_A_VAL,),
        test=(Part("C", SUBVOLUME_Z), Part("D", SUBVOLUME_Z)),
    ),
}


def region_setting(name: str) -> RegionSetting:
    """The task-1 setting ``name`` (``roi-c1``, ``roi-c2`` or ``roi-c3``; any case).

    Raises:
        ConfigError: an unknown name (with the closest and the valid ones).
    """
    return REGION_SETTINGS[check_choice("setting", name.lower(), list(REGION_SETTINGS))]
