"""Known answers for the recording loaders (:mod:`mtneuro.data.neural`), from a mutation audit.

Small hand-written files whose right reading is known: per-bin arrays, the reach-target
encoding, the rodent pair's units and orientation, and the refusals of malformed files,
which must name the file and the array at fault. The last tests check the published reach
files against each other: the speed threshold and the bin width are facts of the data that
the loader must carry through unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtneuro.data.neural import (
    REACH_CLASSES,
    SLEEP_CLASSES,
    NeuralRecording,
    detect_kind,
    load_file,
    load_reach_npz,
    load_recording,
)
from mtneuro.errors import ChecksumError, DataError


def _reach(path: Path, **change: np.ndarray | None) -> Path:
    """A well-formed reach file of 3 trials (ids 7, 2, 9: neither sorted nor from 0) of 4, 3
    and 2 bins; ``change`` replaces (or, given None, drops) arrays."""
    trial = np.array([7, 7, 7, 7, 2, 2, 2, 9, 9])
    n = trial.size
    arrays: dict[str, np.ndarray] = {
        "firing_rates": np.arange(n * 3, dtype=np.float64).reshape(n, 3),
        "trial": trial,
        "label": np.repeat([5, 0, 7], [4, 3, 2]),
        "vel": np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float64),
    }
    arrays.update({k: v for k, v in change.items() if v is not None})
    for k in [k for k, v in change.items() if v is None]:
        del arrays[k]
    np.savez(path, **arrays)
    return path


def _sleep(folder: Path, counts: np.ndarray, states: np.ndarray, prefix: str = "m_") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{prefix}fr_bins_n_4full.npy", counts)
    np.save(folder / f"{prefix}behav_states_n_4full.npy", states)
    return folder / f"{prefix}fr_bins_n_4full.npy"


# ---------------------------------------------------------------- reach: what is read


def test_a_reach_file_reads_bin_by_bin_with_trials_kept_as_written(tmp_path: Path) -> None:
    rec = load_reach_npz(_reach(tmp_path / "monkey-bin0.25-x.npz"))
    assert rec.kind == "reach" and rec.rates.shape == (9, 3) and rec.rates.dtype == np.float32
    assert rec.rates[4, 1] == 13.0  # row 4, column 1 of arange(27).reshape(9, 3)
    assert rec.trial.tolist() == [7, 7, 7, 7, 2, 2, 2, 9, 9] and rec.trial.dtype == np.int64
    # three trials whatever their ids (counting ids up to the largest would say 10)
    assert rec.n_trials == 3 and rec.n_bins == 9 and rec.n_neurons == 3
    assert rec.bin_s == 0.25
    assert rec.behaviour["vel"].shape == (9, 2) and rec.behaviour["vel"][3].tolist() == [3, -3]
    info = rec.describe()
    ((path, sha),) = info.pop("files").items()
    assert info == {"name": "monkey-bin0.25-x", "kind": "reach", "bins": 9, "neurons": 3,
                    "trials": 3, "bin_s": 0.25, "catalogued": False}
    assert path == str(tmp_path / "monkey-bin0.25-x.npz") and len(sha) == 64


def test_a_missing_timestep_counts_bins_from_zero_within_each_trial(tmp_path: Path) -> None:
    rec = load_reach_npz(_reach(tmp_path / "r.npz"))
    assert rec.timestep.tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1]


@pytest.mark.parametrize(("stem", "width"), [
    ("rec", None),  # no bin part: not known (nothing is computed from it)
    ("my-chewie-10032013-bin0.05-vel_thresh5.00", 0.05),
    ("a-bin0.25", 0.25),
    ("a-bin2", 2.0),
    ("binned-chewie-bin0.05", 0.05),  # a "bin..." part that is no number is passed over
])
def test_the_bin_width_is_read_from_the_file_name(tmp_path: Path, stem: str,
                                                    width: float) -> None:
    assert load_reach_npz(_reach(tmp_path / f"{stem}.npz")).bin_s == width


def test_a_bin_width_array_states_it_and_must_agree_with_the_name(tmp_path: Path) -> None:
    """``bin_s`` in the file says the width where the name does not; a name saying another
    width is refused, as is a width that is not one positive number."""
    assert load_reach_npz(_reach(tmp_path / "rec.npz", bin_s=np.float64(0.02))).bin_s == 0.02
    assert load_reach_npz(_reach(tmp_path / "a-bin0.05.npz", bin_s=np.array(0.05))).bin_s == 0.05
    with pytest.raises(DataError, match=r"bin_s is 0\.1 s but the file name says bin0\.05"):
        load_reach_npz(_reach(tmp_path / "b-bin0.05.npz", bin_s=np.array(0.1)))
    for bad in (np.array(0.0), np.array([0.1, 0.1]), np.array(-1.0)):
        with pytest.raises(DataError, match="bin_s must be one positive number of seconds"):
            load_reach_npz(_reach(tmp_path / "c.npz", bin_s=bad))
    assert load_reach_npz(_reach(tmp_path / "d.npz")).describe()["bin_s"] is None


@pytest.mark.parametrize("stem", ["x-bin0", "x-binnan", "x-bininf", "x-bin0e0"])
def test_a_bin_width_that_is_not_a_positive_number_is_refused(tmp_path: Path,
                                                               stem: str) -> None:
    with pytest.raises(DataError, match=rf"{stem}: bin width .* not a positive number"):
        load_reach_npz(_reach(tmp_path / f"{stem}.npz"))


def test_reach_targets_are_eight_directions_45_degrees_apart(tmp_path: Path) -> None:
    label = np.array([0, 1, 2, 3, 4, 5, 6, 7, 7])
    rec = load_reach_npz(_reach(tmp_path / "r.npz", label=label))
    np.testing.assert_allclose(np.degrees(rec.angle), 45.0 * label)
    assert REACH_CLASSES == ("0°", "45°", "90°", "135°", "180°", "225°", "270°", "315°")
    assert rec.class_names == REACH_CLASSES


# ---------------------------------------------------------------- reach: what is refused


@pytest.mark.parametrize(("change", "needle"), [
    ({"label": np.repeat([5, 0, 8], [4, 3, 2])}, r"label must be reach targets 0\.\.7.*0\.\.8"),
    ({"label": np.repeat([5, -1, 7], [4, 3, 2])}, r"label must be reach targets 0\.\.7.*-1\.\.7"),
    ({"trial": np.array([7, 7, 2, 2, 7, 7, 2, 9, 9])}, "the bins of each trial must be contiguous"),
    ({"firing_rates": np.arange(9.0)}, r"firing_rates must be \(bins, neurons\)"),
    ({"timestep": np.arange(8)}, r"timestep must have shape \(9,\), got \(8,\)"),
    ({"label": np.zeros((9, 1), dtype=int)}, r"label must have shape \(9,\), got \(9, 1\)"),
    ({"trial": np.zeros((9, 2), dtype=int)}, r"trial must have shape \(9,\), got \(9, 2\)"),
    ({"trial": np.array(3)}, r"trial must have shape \(9,\), got \(\)"),
    ({"trial": None}, "missing arrays trial"),
    ({"label": None}, "missing arrays label"),
    ({"trial": np.repeat([7.0, 2.5, 9.0], [4, 3, 2])},
     r"trial: expected integers, got 2\.5 at index \[4\]$"),
    # a float64 rate beyond float32 would turn infinite in the cast and fail far from here
    ({"firing_rates": np.where(np.eye(9, 3) > 0, 1e39, 1.0)},
     r"firing_rates: 1e\+39 at index \[0, 0\] is beyond float32"),
    ({"firing_rates": np.ones((3, 9))},
     r"trial must have shape \(3,\), got \(9,\); firing_rates looks transposed"),
])
def test_a_malformed_reach_file_is_refused_naming_the_array(tmp_path: Path, change: dict,
                                                             needle: str) -> None:
    path = _reach(tmp_path / "bad.npz", **change)
    with pytest.raises(DataError, match=needle) as err:
        load_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_file_of_the_other_numpy_format_is_named_as_such(tmp_path: Path) -> None:
    npy_as_npz = tmp_path / "rates.npz"
    np.save(tmp_path / "rates.npy", np.ones((4, 2)))
    (tmp_path / "rates.npy").rename(npy_as_npz)
    with pytest.raises(DataError, match=r"rates.npz: not a readable NumPy .npz file \(it is a "
                                        r"NumPy .npy file named .npz"):
        load_file(npy_as_npz)
    npz_as_npy = _reach(tmp_path / "x.npz").rename(tmp_path / "m_fr_bins_n_4full.npy")
    np.save(tmp_path / "m_behav_states_n_4full.npy", _STATES)
    with pytest.raises(DataError, match=r"it is a NumPy .npz file named .npy"):
        load_file(npz_as_npy)


def test_an_own_pair_named_as_the_catalogued_one_is_not_checked_against_it(
        tmp_path: Path) -> None:
    """mouse-ca1's files have an empty prefix; a user's own pair may be named the same and
    is only checked as a catalogued file where it sits as one (under neural/rodent/)."""
    own = _sleep(tmp_path / "mine", _COUNTS, _STATES, prefix="")
    assert load_file(own).n_bins == 5
    placed = _sleep(tmp_path / "root" / "neural" / "rodent", _COUNTS, _STATES, prefix="")
    with pytest.raises(ChecksumError):
        load_file(placed)


# ---------------------------------------------------------------- rodent sleep pairs

_COUNTS = np.array([[0, 4, 8, 12, 16], [1, 1, 1, 1, 1], [40, 0, 0, 0, 2]])  # (neurons, bins)
_STATES = np.array([0, 1, 2, 1, 0])


def test_a_sleep_pair_reads_as_hz_per_bin_with_states_as_labels(tmp_path: Path) -> None:
    rec = load_file(_sleep(tmp_path / "rodent", _COUNTS, _STATES))
    assert rec.kind == "sleep" and rec.rates.shape == (5, 3) and rec.rates.dtype == np.float32
    # counts per 4 s bin over 4 s: bin 2 of neuron 0 held 8 spikes, 2 Hz
    np.testing.assert_array_equal(rec.rates, _COUNTS.T / 4.0)
    assert rec.bin_s == 4.0
    assert rec.label.tolist() == [0, 1, 2, 1, 0] and rec.label.dtype == np.int64
    assert rec.trial.tolist() == [0] * 5 and rec.n_trials == 1
    assert rec.timestep.tolist() == [0, 1, 2, 3, 4]
    assert rec.class_names == SLEEP_CLASSES == ("wake", "nREM", "REM")
    with pytest.raises(DataError, match="no reach angle"):
        _ = rec.angle


def test_either_file_of_a_pair_or_its_folder_loads_the_same_recording(tmp_path: Path) -> None:
    rates = _sleep(tmp_path / "rodent", _COUNTS, _STATES, prefix="m1_")
    states = rates.with_name("m1_behav_states_n_4full.npy")
    assert detect_kind(states) == "sleep" and detect_kind(rates.parent) == "sleep"
    readings = [load_file(p) for p in (rates, states, rates.parent)]
    for rec in readings:
        assert isinstance(rec, NeuralRecording)
        np.testing.assert_array_equal(rec.rates, _COUNTS.T / 4.0)
        assert rec.label.tolist() == _STATES.tolist()
        assert rec.name == "m1"  # the pair's prefix, whichever file was given


def test_a_pair_without_a_prefix_is_named_by_its_rates_file(tmp_path: Path) -> None:
    rates = _sleep(tmp_path / "rodent", _COUNTS, _STATES, prefix="")
    assert load_file(rates.parent).name == "fr_bins_n_4full"


def test_a_folder_of_two_pairs_names_both_and_a_lone_file_names_its_partner(
        tmp_path: Path) -> None:
    folder = tmp_path / "rodent"
    _sleep(folder, _COUNTS, _STATES, prefix="a_")
    _sleep(folder, _COUNTS, _STATES, prefix="b_")
    with pytest.raises(DataError, match="a_fr_bins_n_4full.npy, b_fr_bins_n_4full.npy"):
        load_file(folder)
    lone = tmp_path / "lone"
    rates = _sleep(lone, _COUNTS, _STATES)
    (lone / "m_behav_states_n_4full.npy").unlink()
    with pytest.raises(DataError, match="partner file m_behav_states_n_4full.npy is missing"):
        load_file(rates)


@pytest.mark.parametrize(("counts", "states", "needle"), [
    (_COUNTS, np.array([0, 1, 3, 1, 0]),
     r"states must be 0, 1 or 2, got 3 at index 2 \(1 of 5 values\)"),
    (_COUNTS, np.array([0, 1, -1, 1, 3]),
     r"states must be 0, 1 or 2, got -1 at index 2 \(2 of 5 values\)"),
    (_COUNTS[0], _STATES, r"fr_bins_n_4full.npy: expected a \(neurons, bins\) counts array, "
                          r"got shape \(5,\)"),
    (_COUNTS, _STATES[None], r"expected a \(bins,\) states array, got shape \(1, 5\)"),
    (_COUNTS, np.array([0, 1, 2, 1]), r"disagree: shapes \(3, 5\) and \(4,\)"),
    (_COUNTS[:, :4], _STATES, r"disagree: shapes \(3, 4\) and \(5,\)$"),
    # saved (bins, neurons), as reach rates are: said so
    (_COUNTS.T, _STATES, r"disagree: shapes \(5, 3\) and \(5,\); \S*fr_bins_n_4full.npy "
                         r"looks transposed: expected \(neurons, bins\)$"),
    (_COUNTS, np.array([0.0, 1.0, 1.5, 1.0, 0.0]), "expected integers"),
])
def test_a_malformed_sleep_pair_is_refused_naming_the_file(tmp_path: Path, counts: np.ndarray,
                                                           states: np.ndarray,
                                                           needle: str) -> None:
    rates = _sleep(tmp_path / "rodent", counts, states)
    with pytest.raises(DataError, match=needle) as err:
        load_file(rates)
    assert "_n_4full.npy" in str(err.value)


# ---------------------------------------------------------------- the published reach files


def test_packaged_reach_rates_are_whole_spike_counts_per_bin(packaged_data: Path) -> None:
    """Rates are Hz of counts in a bin_s bin, so rates * bin_s are whole counts, and each
    trial reaches to one target."""
    rec = load_recording("chewie-1", root=packaged_data)
    counts = rec.rates.astype(np.float64) * rec.bin_s
    np.testing.assert_allclose(counts, np.rint(counts), atol=1e-3)
    assert counts.max() >= 2  # not only zeros and ones, which any width would leave whole
    starts = np.flatnonzero(np.r_[True, rec.trial[1:] != rec.trial[:-1]])
    assert np.array_equal(np.repeat(rec.label[starts], np.diff(np.r_[starts, rec.n_bins])),
                          rec.label)


def test_the_speed_threshold_keeps_exactly_the_fast_bins(shared_data: Path) -> None:
    """chewie-1 (hand speed > 5) is chewie-1-vel0 (no threshold) without its slow bins: same
    trials, same recorded timesteps, same rates and targets for the bins kept."""
    fast = load_recording("chewie-1", root=shared_data)
    every = load_recording("chewie-1-vel0", root=shared_data)
    assert fast.n_trials == every.n_trials == 159 and fast.n_bins < every.n_bins
    speed = np.linalg.norm(every.behaviour["vel"].astype(np.float64), axis=1)
    kept = speed > 5.0
    assert kept.sum() == fast.n_bins
    for key in ("trial", "timestep", "label"):
        assert np.array_equal(getattr(every, key)[kept], getattr(fast, key)), key
    assert np.array_equal(every.rates[kept], fast.rates)
    # without the threshold, every trial's bins are consecutive from 0
    for t in np.unique(every.trial)[:20]:
        steps = every.timestep[every.trial == t]
        assert np.array_equal(steps, np.arange(steps.size))


def test_half_width_bins_hold_whole_counts_at_their_own_width(shared_data: Path) -> None:
    half = load_recording("chewie-1-bin0.05", root=shared_data)
    full = load_recording("chewie-1", root=shared_data)
    assert half.bin_s == 0.05 and full.bin_s == pytest.approx(0.1)
    counts = half.rates.astype(np.float64) * half.bin_s
    np.testing.assert_allclose(counts, np.rint(counts), atol=1e-3)
    # the same trials, about twice as many bins each (the threshold is per bin)
    assert half.n_trials == full.n_trials
    assert 1.6 < half.n_bins / full.n_bins < 2.4
