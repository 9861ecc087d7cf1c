"""The ``slice`` source: the real slice z = 309 as a one-slice volume."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.data.checksums import KNOWN_SHA256
from mtneuro.data.shared import SLICE_FILE, load_slice
from mtneuro.data.sources import open_source
from mtneuro.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def source(packaged_data):
    return open_source("slice", root=str(packaged_data))


def test_shape_channels_and_content(source, packaged_data):
    assert source.shape == (1, 1420, 5805)
    assert source.channels == ("image",)
    block = source.read_channel("image", (0, 1), (900, 1156), (4600, 4856))
    assert np.array_equal(block[0], load_slice(packaged_data)[900:1156, 4600:4856])


def test_describe_names_file_hash_and_depth(source):
    info = source.describe()
    assert info["sha256"] == KNOWN_SHA256[SLICE_FILE]
    assert info["real_z"] == 309 and "z=309" in info["what"]
    assert info["channels"] == ["image"]


def test_no_labels_and_one_slice(source):
    with pytest.raises(ConfigError, match="channel"):
        source.read_channel("roi_labels", (0, 1), (0, 10), (0, 10))
    with pytest.raises(ConfigError, match="z range"):
        source.read_channel("image", (1, 2), (0, 10), (0, 10))


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match=r"^root: .*absent is not a folder \(not there\)"):
        open_source("slice", root=str(tmp_path / "absent"))
