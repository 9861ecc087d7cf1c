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
