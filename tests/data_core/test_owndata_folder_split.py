"""``--source folder`` without train/ and test/ is split 70 / 30 per class; a class of one
image cannot be in both parts, and scikit-learn's "least populated class" traceback ended
pre-training (own-data audit, item 4a). Pre-training reads no label, so the split is drawn
at random instead, with a warning naming the class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mtneuro.data.vision import load_vision
from mtneuro.errors import DataError


def _folder(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(np.full((8, 8), index * 20, np.uint8)).save(
                root / name / f"{index}.png")
    return root


def test_a_class_of_one_image_splits_at_random_with_a_warning(tmp_path: Path):
    root = _folder(tmp_path / "imgs", {"a": 4, "b": 1})
    with pytest.warns(UserWarning) as caught:
        train = load_vision("folder", "train", root=root, image_size=8, channels=1)
    assert [str(w.message) for w in caught] == [
        (f"image folder {root}: class 'b' has 1 image (a split per class needs at least 2 in "
        "each class); its train / test split is drawn at random instead of per class, so a "
        "class may be missing from one of them")]
    with pytest.warns(UserWarning):
        test = load_vision("folder", "test", root=root, image_size=8, channels=1)
    assert (len(train), len(test)) == (3, 2)
    assert len(load_vision("folder", "all", root=root, image_size=8, channels=1)) == 5


def test_more_classes_than_a_part_holds_splits_at_random_too(tmp_path: Path):
    root = _folder(tmp_path / "imgs", {c: 2 for c in "abcdef"})  # 12 images: a test part of 4
    with pytest.warns(UserWarning, match=r"its 12 images give a part of 4, fewer than its 6 "
                                         r"classes"):
        assert len(load_vision("folder", "train", root=root, image_size=8)) == 8


def test_a_folder_of_one_image_is_refused_in_one_line(tmp_path: Path):
    root = _folder(tmp_path / "imgs", {"a": 1})
    with pytest.raises(DataError, match=r"imgs: holds 1 image; without train/ and test/ "
                                        r"sub-folders it is split 70% / 30% into train and test, "
                                        r"which needs at least 2 images"):
        load_vision("folder", "train", root=root, image_size=8)


def test_a_folder_that_can_be_split_per_class_still_is(tmp_path: Path, recwarn):
    from sklearn.model_selection import train_test_split

    root = _folder(tmp_path / "imgs", {"a": 6, "b": 4})
    test = load_vision("folder", "test", root=root, image_size=8)
    labels = np.array([0] * 6 + [1] * 4)
    _, expected = train_test_split(np.arange(10), test_size=0.3, stratify=labels,
                                   random_state=0)
    assert test.labels.tolist() == sorted(labels[expected].tolist())
    assert not [w for w in recwarn if "split" in str(w.message)]
