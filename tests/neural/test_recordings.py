"""Loaders of the real recordings, checksums, registry names, and the sleep-state evidence."""

import shutil

import numpy as np
import pytest

from mtneuro.data.neural import RECORDINGS, SLEEP_STATES, detect_kind, load_file, load_recording
from mtneuro.errors import ChecksumError, DataError

CHEWIE = RECORDINGS["chewie-1"][0]


def test_chewie_day1_loads_by_name(packaged_data):
    rec = load_recording("chewie-1", root=packaged_data)
    assert rec.kind == "reach" and rec.rates.shape == (895, 174) and rec.n_trials == 159
    assert rec.bin_s == pytest.approx(0.1)
    assert set(np.unique(rec.label)) == set(range(8))
    np.testing.assert_allclose(rec.angle[:3], 2 * np.pi / 8 * rec.label[:3])


def test_every_named_recording_loads(shared_data):
    for name in RECORDINGS:
        rec = load_recording(name, root=shared_data)
        assert rec.n_bins == rec.label.size == rec.trial.size and rec.n_neurons > 0


def test_corrupted_known_file_fails_checksum(packaged_data, tmp_path):
    bad = tmp_path / "neural" / "monkey" / CHEWIE.split("/")[-1]
    bad.parent.mkdir(parents=True)
    shutil.copy(packaged_data / CHEWIE, bad)
    with bad.open("r+b") as fh:
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 1]))
    with pytest.raises(ChecksumError):
        load_file(bad)


def test_other_recording_of_same_format_loads(packaged_data, tmp_path):
    with np.load(packaged_data / CHEWIE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    keep = arrays["trial"] < 40
    small = {k: (v[keep][:, :50] if k == "firing_rates" else v[keep]) for k, v in arrays.items()}
    path = tmp_path / "monkey-x-bin0.05.npz"
    np.savez(path, **small)
    rec = load_recording(str(path))
    assert detect_kind(path) == "reach"
    assert rec.rates.shape == (int(keep.sum()), 50) and rec.n_trials == 40 and rec.bin_s == 0.05


def test_unknown_name_is_a_one_line_data_error():
    with pytest.raises(DataError, match="chewie-1") as err:
        load_recording("chewie1")
    assert "\n" not in str(err.value)


def test_sleep_state_mapping_follows_from_the_data(shared_data):
    """REM (2) is entered only from nREM (1) and never from wake (0); REM is short and
    rare; wake always ends in nREM; nREM has the lowest CA1 rates."""
    rec = load_recording("mouse-ca1", root=shared_data)
    assert rec.kind == "sleep" and rec.rates.shape == (10800, 42)
    s = rec.label
    change = np.flatnonzero(np.diff(s) != 0)
    before, after = s[change], s[change + 1]
    assert np.all(before[after == 2] == 1)  # REM only after nREM
    assert np.all(after[before == 0] == 1)  # wake ends in nREM
    starts = np.r_[0, change + 1]
    lengths = np.diff(np.r_[starts, s.size])
    median = {v: np.median(lengths[s[starts] == v]) for v in range(3)}
    assert median[2] < median[1] and median[2] < median[0]
    assert np.mean(s == 2) < 0.1
    rate = {v: rec.rates[s == v].mean() for v in range(3)}
    assert rate[1] < rate[0] and rate[1] < rate[2]
    assert SLEEP_STATES == {0: "wake", 1: "nREM", 2: "REM"}
