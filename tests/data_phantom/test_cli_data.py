"""``mtneuro data info`` and ``mtneuro data preview``."""

from __future__ import annotations

import numpy as np
import pytest
from cli_capture import run
from PIL import Image

from mtneuro.cli.options import parse_source_params
from mtneuro.errors import ConfigError


def test_info_phantom(capsys):
    code, out, err = run(
        ["data", "info", "--source", "phantom", "--source-param", "seed=3"], capsys
    )
    assert code == 0, err
    for text in (
        "phantom",
        "720 x 1420 x 5805",
        "1.17 um",
        "pixel_labels",
        "x 4600:4856  y 900:1156",
        "train z 110:379",
        'params: {"seed": 3}',
    ):
        assert text in out


def test_info_slice(capsys, packaged_data):
    code, out, err = run(
        ["data", "info", "--source", "slice", "--source-param", f"root={packaged_data}"], capsys
    )
    assert code == 0, err
    assert "1 x 1420 x 5805" in out and "sha256" in out and "beyond this source's depth" in out


def _image(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_preview_phantom(capsys, tmp_path):
    out_png = tmp_path / "p.png"
    code, _, err = run(
        ["data", "preview", "--source", "phantom", "--out", str(out_png), "--z", "300"], capsys
    )
    assert code == 0, err
    pixels = _image(out_png)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    # region colours and label overlays make it far from gray
    spread = pixels.astype(int).max(axis=2) - pixels.astype(int).min(axis=2)
    assert (spread > 60).mean() > 0.05


def test_preview_slice(capsys, tmp_path, packaged_data):
    out_png = tmp_path / "s.png"
    argv = [
        "data",
        "preview",
        "--source",
        "slice",
        "--source-param",
        f"root={packaged_data}",
        "--out",
        str(out_png),
    ]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert out_png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["data", "info", "--source", "phantm"],
            "unknown source 'phantm' (did you mean 'phantom'?)",
        ),
        (
            ["data", "preview", "--source", "phantom", "--z", "720", "--out", "x.png"],
            "z 720 is outside",
        ),
        (
            ["data", "preview", "--source", "phantom", "--z", "-1", "--out", "x.png"],
            "z -1 is outside",
        ),
        (
            ["data", "info", "--source", "slice", "--source-param", "root=/no/such/dir"],
            "/no/such/dir",
        ),
        (["data", "info", "--source", "phantom", "--source-param", "sed=1"], "takes: seed"),
        (["data", "info", "--source", "phantom", "--source-param", "seed"], "KEY=VALUE"),
        (["data", "info", "--source", "phantom", "--source-param", "seed=-4"], "seed"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_parse_source_params():
    assert parse_source_params(["seed=1", "root=/a=b", "flag=true", "name=x"]) == {
        "seed": 1,
        "root": "/a=b",
        "flag": True,
        "name": "x",
    }
    with pytest.raises(ConfigError):
        parse_source_params(["=3"])
