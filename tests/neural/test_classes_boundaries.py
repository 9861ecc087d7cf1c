"""Boundaries of the classes layout and of other guards added with it (mutation audit): as
many classes as bins, a kind array of several strings, a classes file given to the reach
loader, the folders a refused run removes, and the seeds of a mid-epoch position."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtneuro.data.neural import load_file
from mtneuro.data.neural_npz import load_reach_npz
from mtneuro.errors import DataError
from mtneuro.made_folders import missing_folders, removed_if_left_empty
from mtneuro.ssl.epoch_position import derive_seed


def _file(path: Path, label: np.ndarray, **extra: np.ndarray) -> Path:
    np.savez(path, firing_rates=np.random.default_rng(0).random((label.size, 3), np.float32),
             trial=np.arange(label.size), label=label, **extra)
    return path


def test_as_many_classes_as_bins_is_a_recording(tmp_path):
    recording = load_file(_file(tmp_path / "four.npz", np.arange(4), kind=np.array("classes")))
    assert recording.kind == "classes" and recording.class_names == ("0", "1", "2", "3")


def test_a_kind_of_several_strings_is_refused(tmp_path):
    path = _file(tmp_path / "k.npz", np.arange(4) % 2, kind=np.array(["classes", "reach"]))
    with pytest.raises(DataError, match="kind: expected one string"):
        load_file(path)


def test_the_reach_loader_refuses_a_classes_file(tmp_path):
    path = _file(tmp_path / "c.npz", np.arange(4) % 2, kind=np.array("classes"))
    with pytest.raises(DataError, match="expected a reach file, got 'classes'"):
        load_reach_npz(path)


def test_only_the_folders_made_by_a_refused_run_are_removed(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()  # the user's own empty folder stays
    assert missing_folders(mine / "a" / "b") == [mine / "a" / "b", mine / "a"]
    with pytest.raises(RuntimeError), removed_if_left_empty(mine / "a" / "b"):
        (mine / "a" / "b").mkdir(parents=True)
        raise RuntimeError("refused")
    assert mine.is_dir() and not (mine / "a").exists()


def test_derived_seeds_are_63_bit_and_fixed():
    # fixed values: a resume draws the same generators as the run it continues
    assert derive_seed(0, 0, 0) == 7896617691693857887
    assert derive_seed(7, 3, 1, 2) == 8711250018134922203
    seeds = [derive_seed(seed, epoch, stream) for seed in range(3) for epoch in range(20)
             for stream in range(4)]
    assert all(0 <= s < 2**63 for s in seeds) and len(set(seeds)) == len(seeds)
    assert max(seeds) >= 2**62  # the top bit of 63 is used: the shift dropped one, not more
