"""A window that leaves an own volume few grey levels warns, and a float volume's suggested
window is rounded (own-data audit, item 5): the README's 12-bit window 0:4095 on an 8-bit
volume left 17 of 256 levels, silently; a float range was printed to 16 digits."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_capture import run

from mtneuro.data.volume_file import parse_window, range_window, volume_tiles
from mtneuro.errors import DataError


def _save(tmp_path: Path, values: np.ndarray) -> Path:
    np.save(tmp_path / "v.npy", values)
    return tmp_path / "v.npy"


def test_a_12_bit_window_on_an_8_bit_volume_warns_with_the_window_of_its_range(tmp_path):
    path = _save(tmp_path, np.random.default_rng(0).integers(0, 256, (2, 16, 16), np.uint8))
    with pytest.warns(UserWarning) as caught:
        tiles = volume_tiles(path, tile=8, window="0:4095").images
    assert tiles.unique().numel() == 17
    assert [str(w.message) for w in caught] == [
        (f"volume {path}: window 0:4095 maps the values read (0 to 255) to 17 grey levels of "
        "256; --source-param window=0:255 (their range) would give 256")]


@pytest.mark.parametrize(("values", "window"), [
    (np.arange(4096, dtype=np.uint16).reshape(1, 64, 64), "0:4095"),  # 12 bits: all 256
    (np.arange(4096, dtype=np.uint16).reshape(1, 64, 64) % 20 + 100, "100:119"),  # 20 values
    (np.arange(256, dtype=np.uint8).reshape(1, 16, 16), "0:4095"),  # 17 of 256 ...
], ids=["12-bit", "few-values-all-kept", "eight-bit"])
def test_only_a_window_that_loses_levels_the_values_have_warns(tmp_path, values, window):
    path = _save(tmp_path, values)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volume_tiles(path, tile=8, window=window)
    lost = [str(w.message) for w in caught if "grey levels" in str(w.message)]
    assert bool(lost) == (values.dtype == np.uint8)  # ... is the one that loses levels


def test_a_float_volume_suggests_a_window_of_4_significant_digits_of_its_span(tmp_path,
                                                                           capsys):
    values = np.random.default_rng(0).normal(0, 50, (2, 16, 16)).astype(np.float32)
    values[0, 0, :2] = -220.5088653564453, 216.19219970703125
    path = _save(tmp_path, values)
    with pytest.raises(DataError, match=r"e\.g\. --source-param window=-220\.6:216\.2, or"):
        volume_tiles(path, tile=8)
    low, high = parse_window(range_window(values.min(), values.max()))
    assert low <= values.min() and high >= values.max()  # rounded outward: nothing clipped
    code, out, err = run(["data", "info", "--source", "volume", "--source-param",
                          f"path={path}", "--source-param", "tile=8"], capsys)
    assert code == 0, err
    assert "(suggested window=-220.6:216.2, the values' range)" in out


@pytest.mark.parametrize(("lowest", "highest", "window"), [
    (np.uint16(3), np.uint16(4095), "3:4095"),
    (np.float64(0.000123), np.float64(0.99987), "0.0001:0.9999"),
    (np.float64(0.0), np.float64(1.0), "0:1"),
    (np.float32(1.00001), np.float32(1.00002), "1.00001001:1.00002003"),  # float32's own
    (np.float64(-1.7976931348623157e308), np.float64(1e308), "-1.7976931348623157e+308:1.001e+308"),
    (np.float64(-3e-7), np.float64(5e-7), "-3e-07:5e-07"),
    (np.float64(9999.7), np.float64(12345.6), "9999:12346"),
])
def test_suggested_windows_hold_the_range_to_a_thousandth_of_it(lowest, highest, window):
    text = range_window(lowest, highest)
    assert text == window
    low, high = parse_window(text)
    assert low <= lowest and high >= highest
