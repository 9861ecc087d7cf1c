"""A small reach recording every neural test can run on without ../shared/data."""

import numpy as np
import pytest

from mtneuro.data.neural import RECORDINGS


@pytest.fixture(scope="session")
def reach_slice(packaged_data, tmp_path_factory):
    """The first 40 trials of Chewie day 1 (about 230 bins; the packaged sample) as a new,
    unknown recording."""
    with np.load(packaged_data / RECORDINGS["chewie-1"][0]) as npz:
        arrays = {k: npz[k][npz["trial"] < 40] for k in npz.files}
    path = tmp_path_factory.mktemp("reach") / "chewie-slice-bin0.10.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture
def write_sleep(tmp_path):
    """Writes a synthetic rodent pair of the given (bins,) states in ``tmp_path`` and returns
    its rates file: 6 neurons whose Poisson spike counts per 4 s bin rise with the state."""
    def write(states) -> str:
        states = np.asarray(states, dtype=np.int64)
        counts = np.random.default_rng(0).poisson(3.0 + 4.0 * np.eye(3, 6)[states].T)
        np.save(tmp_path / "x_fr_bins_n_4full.npy", counts.astype(float))
        np.save(tmp_path / "x_behav_states_n_4full.npy", states.astype(float))
        return str(tmp_path / "x_fr_bins_n_4full.npy")

    return write
