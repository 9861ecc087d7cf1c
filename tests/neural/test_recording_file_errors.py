"""Recording files the loaders must refuse in one line naming the file, where they raised a
traceback: an unreadable file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from permissions import deny_reading

from mtneuro.data.neural import load_file
from mtneuro.errors import DataError

TRIAL = np.array([3, 3, 3, 8, 8])


def _arrays(**change: np.ndarray) -> dict[str, np.ndarray]:
    arrays = {"firing_rates": np.arange(15, dtype=np.float64).reshape(5, 3), "trial": TRIAL,
              "label": np.array([1, 1, 1, 6, 6]),
              "vel": np.stack([np.arange(5.0), -np.arange(5.0)], axis=1)}
    arrays.update(change)
    return arrays


def _reach(path: Path, **change: np.ndarray) -> Path:
    np.savez(path, **_arrays(**change))
    return path


def _one_line(err: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, message


def test_an_unreadable_recording_says_so_naming_the_file(tmp_path, monkeypatch):
    path = _reach(tmp_path / "mine.npz")
    deny_reading(monkeypatch, path)  # a file at mode 000 for a user who is not root
    with pytest.raises(DataError) as err:
        load_file(path)
    _one_line(err, f"{path}: cannot be read (Permission denied)", "chmod")


def test_an_unreadable_rodent_file_says_so_naming_the_file(tmp_path, monkeypatch):
    counts, states = tmp_path / "m_fr_bins_n_4full.npy", tmp_path / "m_behav_states_n_4full.npy"
    np.save(counts, np.ones((2, 3)))
    np.save(states, np.array([0, 1, 2]))
    deny_reading(monkeypatch, states)
    with pytest.raises(DataError) as err:
        load_file(counts)
    _one_line(err, f"{states}: cannot be read (Permission denied)")
