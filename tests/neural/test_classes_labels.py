"""Labels and names of a classes file: classes 0..K-1 each in some bin (labels with gaps are
refused, not read as classes that never occur), names that may go unused, and object arrays
refused naming the key and how to save it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtneuro.data.neural import load_file
from mtneuro.errors import DataError


def _file(path: Path, label: np.ndarray, **extra: np.ndarray) -> str:
    np.savez(path, firing_rates=np.random.default_rng(0).random((label.size, 3), np.float32),
             trial=np.repeat(np.arange(label.size // 2), 2), label=label,
             kind=np.array("classes"), **extra)
    return str(path)


@pytest.mark.parametrize(("label", "found"), [
    (np.tile([10, 20, 30], 4), "got [10, 20, 30]; renumber them 0..2"),
    (np.tile([0, 2], 6), "got [0, 2]; renumber them 0..1"),
    (np.full(12, 10**6), "got [1000000]; renumber them 0..0"),
    (np.r_[np.arange(11), 99], "got [0, 1, 2, 3, ..., 10, 99]; renumber them 0..11"),
])
def test_labels_with_gaps_are_refused_naming_them_and_the_renumbering(tmp_path, label, found):
    path = _file(tmp_path / "gaps.npz", label)
    with pytest.raises(DataError) as err:
        load_file(path)
    message = str(err.value)
    assert message.startswith(f"{path}: label: expected the classes numbered 0..K-1, each in "
                              "some bin"), message
    assert found in message and "np.unique(label, return_inverse=True)[1]" in message
    assert "\n" not in message


def test_the_renumbering_the_error_gives_loads_with_the_old_values_as_names(tmp_path):
    label = np.tile([10, 20, 30], 4)
    path = _file(tmp_path / "fixed.npz", np.unique(label, return_inverse=True)[1],
                 class_names=np.unique(label).astype(str))
    recording = load_file(path)
    assert recording.class_names == ("10", "20", "30")
    assert recording.label.tolist() == np.tile([0, 1, 2], 4).tolist()


def test_a_name_no_bin_uses_is_allowed(tmp_path):
    path = _file(tmp_path / "named.npz", np.tile([0, 2], 6),
                 class_names=np.array(["rest", "walk", "run"]))
    assert load_file(path).class_names == ("rest", "walk", "run")


@pytest.mark.parametrize(("objects", "parts"), [
    (("class_names",), ("class_names: holds Python objects",
                        "save class_names as a string array (np.asarray(names, dtype=str))")),
    (("class_names", "trial"), ("class_names, trial: hold Python objects",
                                "np.asarray(names, dtype=str)",
                                "save trial as plain numeric arrays")),
])
def test_object_arrays_are_refused_naming_each_key_and_how_to_save_it(tmp_path, objects,
                                                                      parts):
    label = np.tile([0, 1, 2], 4)
    arrays = {"class_names": np.array(["a", "b", "c"]), "trial": np.repeat(np.arange(6), 2)}
    # as pandas .values gives them: an object array of str
    arrays.update({key: arrays[key].astype(object) for key in objects})
    path = tmp_path / "objects.npz"
    np.savez(path, firing_rates=np.ones((12, 3), np.float32), label=label,
             kind=np.array("classes"), **arrays)
    with pytest.raises(DataError) as err:
        load_file(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for part in parts:
        assert part in message, message
