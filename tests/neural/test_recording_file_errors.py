"""Recording files the loaders must refuse in one line naming the file, the array and what was
expected, where they raised a traceback or loaded wrong values: an unreadable file, a 0-d
``firing_rates``, a zip member that is no ``.npy``, text behaviour, trial ids beyond int64,
negative spike counts (negative firing rates, preprocessed, are read as given)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from permissions import deny_reading

from mtneuro.data.neural import load_file, load_reach_npz
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


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


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


def test_a_scalar_firing_rates_is_refused_naming_the_shape(tmp_path):
    path = _reach(tmp_path / "mine.npz", firing_rates=np.array(4.0))
    with pytest.raises(DataError) as err:
        load_reach_npz(path)
    _one_line(err, f"{path}: firing_rates must be (bins, neurons), got shape ()")


@pytest.mark.parametrize("member", ["firing_rates", "vel"])
def test_a_zip_member_that_is_no_npy_is_refused_naming_it(tmp_path, member):
    path = tmp_path / "mine.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in _arrays().items():
            if key == member:
                archive.writestr(key, b"not an array")  # no .npy suffix: numpy gives the bytes
            else:
                archive.writestr(f"{key}.npy", _npy(value))
    with pytest.raises(DataError) as err:
        load_reach_npz(path)
    _one_line(err, f"{path}: member '{member}' is not a .npy array")


def test_behaviour_of_text_is_refused_naming_the_array(tmp_path):
    path = _reach(tmp_path / "mine.npz", vel=np.array([["1", "2"]] * 5))
    with pytest.raises(DataError) as err:
        load_reach_npz(path)
    _one_line(err, f"{path}: vel: expected real numbers, got dtype <U1")


@pytest.mark.parametrize("trial", [np.full(5, 1e30), np.array([3, 3, 3, -2.0 ** 64, -2.0 ** 64]),
                                   np.full(5, np.iinfo(np.uint64).max, dtype=np.uint64)],
                         ids=["float-high", "float-low", "uint64"])
def test_trial_ids_beyond_int64_are_refused_not_wrapped(tmp_path, trial):
    path = _reach(tmp_path / "mine.npz", trial=trial)
    with pytest.raises(DataError) as err:
        load_reach_npz(path)
    _one_line(err, f"{path}: trial: ", "beyond the 64-bit integer range")


def test_the_largest_int64_trial_ids_still_load(tmp_path):
    top = np.iinfo(np.int64).max
    trial = np.array([top, top, top, -top - 1, -top - 1])
    rec = load_reach_npz(_reach(tmp_path / "mine.npz", trial=trial))
    np.testing.assert_array_equal(rec.trial, trial)
    assert rec.n_trials == 2


def test_negative_spike_counts_of_a_rodent_pair_are_refused(tmp_path):
    counts, states = tmp_path / "m_fr_bins_n_4full.npy", tmp_path / "m_behav_states_n_4full.npy"
    np.save(counts, np.array([[1.0, 0.0, 3.0], [2.0, -4.0, 0.0]]))
    np.save(states, np.array([0, 1, 2]))
    with pytest.raises(DataError) as err:
        load_file(counts)
    _one_line(err, f"{counts}: 1 of 6 values are negative (first -4 at index [1, 1])",
              "expected spike counts")


def test_negative_firing_rates_of_a_reach_recording_are_read_as_given(tmp_path):
    """Preprocessed rates (a baseline subtracted, z-scored) are a documented input
    (docs/neural.md): every method z-scores them anyway; only spike counts must be >= 0."""
    rates = np.arange(15, dtype=np.float64).reshape(5, 3) - 100  # a baseline subtracted
    path = _reach(tmp_path / "mine.npz", firing_rates=rates)
    np.testing.assert_array_equal(load_file(path).rates, rates.astype(np.float32))


def test_non_finite_firing_rates_of_a_reach_recording_are_refused(tmp_path):
    rates = np.arange(15, dtype=np.float64).reshape(5, 3)
    rates[2, 1] = np.inf
    path = _reach(tmp_path / "mine.npz", firing_rates=rates)
    with pytest.raises(DataError) as err:
        load_reach_npz(path)
    _one_line(err, f"{path}: firing_rates: 1 of 15 values are NaN or infinite")
