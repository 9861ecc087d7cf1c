"""Loaders of the real recordings, checksums, registry names, and the sleep-state evidence."""

import shutil

import numpy as np
import pytest

from mtneuro.data.catalog import CATALOG
from mtneuro.data.neural import (
    RECORDINGS,
    SLEEP_STATES,
    detect_kind,
    load_file,
    load_recording,
    recording_paths,
)
from mtneuro.errors import ChecksumError, DataError

CHEWIE = RECORDINGS["chewie-1"][0]


def test_chewie_day1_loads_by_name(packaged_data):
    rec = load_recording("chewie-1", root=packaged_data)
    assert rec.kind == "reach" and rec.rates.shape == (895, 174) and rec.n_trials == 159
    assert rec.bin_s == pytest.approx(0.1)
    assert set(np.unique(rec.label)) == set(range(8))
    np.testing.assert_allclose(rec.angle[:3], 2 * np.pi / 8 * rec.label[:3])


def test_every_named_recording_in_the_shared_data_loads(shared_data):
    present = [n for n in RECORDINGS if recording_paths(n, shared_data) is not None]
    assert {"chewie-1", "chewie-1-bin0.05", "chewie-1-vel0", "mouse-ca1"} <= set(present)
    for name in present:
        rec = load_recording(name, root=shared_data)
        assert rec.n_bins == rec.label.size == rec.trial.size and rec.n_neurons > 0


def test_every_catalogued_neural_dataset_is_a_recording_name():
    neural = {d.name for d in CATALOG.values() if d.files[0].relative.startswith("neural/")}
    assert set(RECORDINGS) == neural >= {"chewie-1", "chewie-2", "mihi-1", "mouse-ca1", "rat-v1"}
    assert all(RECORDINGS[d] == tuple(f.relative for f in CATALOG[d].files) for d in neural)


@pytest.fixture
def empty_roots(tmp_path, monkeypatch):
    """No $MTNEURO_DATA and an empty user cache: only an explicit root can provide a file."""
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "root").mkdir()  # a root that does not exist is an error of its own
    return tmp_path / "root"


def test_a_catalogued_recording_loads_by_name_once_present(shared_data, empty_roots, monkeypatch):
    """chewie-2 is a name as soon as its file sits in a data root (here: Chewie day 1's arrays,
    with the catalogue's hash of that file patched to theirs), and a file whose hash is not the
    catalogue's is refused."""
    from mtneuro.data import checksums
    from mtneuro.errors import ChecksumError

    relative = RECORDINGS["chewie-2"][0]
    target = empty_roots / relative
    target.parent.mkdir(parents=True)
    shutil.copy(shared_data / CHEWIE, target)
    with pytest.raises(ChecksumError):
        load_recording("chewie-2", root=empty_roots)
    monkeypatch.setitem(checksums.KNOWN_SHA256, relative, checksums.sha256_file(target))
    rec = load_recording("chewie-2", root=empty_roots)
    assert rec.name == "chewie-2" and rec.kind == "reach" and rec.n_trials == 159


def test_a_missing_catalogued_recording_names_the_download_command(empty_roots):
    with pytest.raises(DataError, match="mtneuro data download mihi-1") as err:
        load_recording("mihi-1", root=empty_roots)
    assert "\n" not in str(err.value) and str(empty_roots) in str(err.value)


def test_a_raw_matlab_only_recording_says_it_cannot_be_binned(tmp_path):
    target = tmp_path / RECORDINGS["mihi-2"][0]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"MATLAB 5.0")
    with pytest.raises(DataError, match="binning it is not implemented"):
        load_recording("mihi-2", root=tmp_path)


def test_corrupted_known_file_fails_checksum(packaged_data, tmp_path):
    bad = tmp_path / "neural" / "monkey" / CHEWIE.split("/")[-1]
    bad.parent.mkdir(parents=True)
    shutil.copy(packaged_data / CHEWIE, bad)
    # A byte of the arrays (the firing rates' deflate stream): a converted .npz is verified by
    # its bytes or its arrays, so damage that leaves every array intact (the zip's trailer,
    # as another writer would differ) is not what this refusal is about.
    with bad.open("r+b") as fh:
        fh.seek(2000)
        byte = fh.read(1)
        fh.seek(2000)
        fh.write(bytes([byte[0] ^ 1]))
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
