"""Library errors name the Python spelling of what to change as well as the command line's
(walkthrough F4): a Python session calling the functions directly used to be told only
``--source-param``, ``--device``, ``--dim``, ``--download``, ``--data-root``, ``--encoder``
or ``--method``. Each message is one line naming the key, the value and what was expected;
the known answer is the argument name the caller used."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mtneuro.data.neural import load_recording
from mtneuro.data.paths import find_data_file
from mtneuro.data.sources import open_source, source_params
from mtneuro.data.vision import load_vision
from mtneuro.devices import resolve_device
from mtneuro.errors import ConfigError, DataError
from mtneuro.models import create_encoder
from mtneuro.models.checkpoint import save_encoder
from mtneuro.tasks.encoders import FrozenEncoders, check_encoder_given

SPEC = "encoder=SPEC (--encoder SPEC; a checkpoint, module:callable or name)"


@pytest.fixture
def no_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $MTNEURO_DATA and an empty user cache, so no real data on this machine is found."""
    monkeypatch.delenv("MTNEURO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _raised(error: type[Exception], call, *args, **kwargs) -> str:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- volume sources: the keyword given to open_source / source_params ---------------------------
def test_an_unknown_source_keyword_is_named_as_given():
    assert _raised(ConfigError, open_source, "phantom", sed=1) == (
        "source parameter 'sed' (--source-param sed=...): source 'phantom' takes: seed")


def test_a_missing_source_keyword_is_named():
    assert _raised(ConfigError, open_source, "cache") == (
        "source parameter 'root' (--source-param root=...): source 'cache' needs it")


def test_a_source_value_of_the_wrong_type_names_key_and_value():
    assert _raised(ConfigError, source_params, "phantom", {"seed": "abc"}) == (
        "source parameter seed='abc' (--source-param seed=...): source 'phantom' expects an "
        "integer")


# -- devices: params={"device": ...} -------------------------------------------------------------
def test_a_missing_gpu_says_device_cpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("mtneuro.devices._mps_available", lambda: False)
    assert _raised(ConfigError, resolve_device, "cuda") == (
        "device 'cuda': CUDA is not available on this machine; use device='cpu' (--device cpu)")
    assert _raised(ConfigError, resolve_device, "mps") == (
        "device 'mps': MPS (Apple GPU) is not available on this machine; use device='cpu' "
        "(--device cpu)")


def test_evaluate_with_a_missing_gpu_says_device_cpu(monkeypatch: pytest.MonkeyPatch):
    import mtneuro

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    encoder = create_encoder("resnet-tiny", widths=(4, 8))
    message = _raised(ConfigError, mtneuro.evaluate, encoder, "task1/roi-c1",
                      params={"device": "cuda"})
    assert message.endswith("use device='cpu' (--device cpu)")


# -- encoders and methods: dim=, encoder=, method= -----------------------------------------------
def _config(**kwargs: object) -> SimpleNamespace:
    return SimpleNamespace(**{"encoder": None, "method": "encoder", "device": "cpu",
                              "dim": "2d", "pretrain": None, **kwargs})


def test_an_encoder_of_other_dims_says_dim():
    volumetric = create_encoder("resnet-tiny", widths=(4, 8), spatial_dims=3)
    message = _raised(ConfigError, FrozenEncoders(_config(), 2, encoder=volumetric), 0)
    assert message.endswith("takes 3D inputs but the task runs in 2D; pass dim='3d' (--dim 3d; "
                            "in a bench suite, params: {dim: 3d} in the grid entry) or a 2D "
                            "encoder")


@pytest.mark.parametrize(("config", "expected"), [
    (_config(method="pca", encoder="resnet-tiny"),
     ("method 'pca' reads no encoder; an encoder (encoder=..., --encoder) is for the methods "
      "encoder, byol, myow, myow-merged; pass method='encoder' (--method encoder) to evaluate "
      "it")),
    (_config(), f"method encoder: expected {SPEC} or, in Python, an encoder module"),
    (_config(method="byol", dim="3d"),
     ("method byol: on-the-fly pre-training is 2D only; pass a 3D encoder as encoder=SPEC "
      "(--encoder SPEC): a module:callable building one, or a file from "
      "mtneuro.models.save_encoder(..., kwargs={'spatial_dims': 3}) "
      "(docs/bring_your_own_encoder.md)")),
])
def test_encoder_and_method_messages_say_encoder_and_method(config, expected):
    assert _raised(ConfigError, check_encoder_given, config) == expected


def test_a_method_without_an_encoder_says_encoder():
    assert _raised(ConfigError, FrozenEncoders(_config(method="pca"), 2), 0) == (
        f"method 'pca' needs {SPEC}")


def test_another_methods_checkpoint_warns_with_method(tmp_path: Path):
    path = save_encoder(tmp_path / "e.pt", create_encoder("resnet-tiny", widths=(4, 8)),
                        name="resnet-tiny", kwargs={"widths": [4, 8]},
                        input_spec={"spatial_dims": 2, "size": 32}, meta={"method": "myow"})
    with pytest.warns(UserWarning, match=re.escape(
            "pass method='myow' (--method myow) or method='encoder' (--method encoder) to "
            "record them under the method that trained it")):
        check_encoder_given(_config(method="byol", encoder=str(path)))


# -- image sets: root=, download= ----------------------------------------------------------------
def test_a_folder_without_root_says_root():
    assert _raised(ConfigError, load_vision, "folder") == (
        "folder: a root directory is required: root=DIR (--source-param root=DIR)")


def test_cifar_without_root_says_root(no_env: Path):
    assert _raised(ConfigError, load_vision, "cifar10") == (
        "cifar10: no root given; pass root=DIR (--source-param root=DIR) or set MTNEURO_DATA")


def test_cifar_not_downloaded_says_download_true(tmp_path: Path):
    assert _raised(DataError, load_vision, "cifar10", root=tmp_path) == (
        f"cifar10 not found under {tmp_path}; rerun with download=True (--download; needs "
        "internet) or place the extracted python batches there")


# -- data roots: root= (data_root in a task config) ----------------------------------------------
def test_a_data_file_not_found_says_root(no_env: Path):
    message = _raised(DataError, find_data_file, "xray_masks/none.npz", no_env)
    assert "; pass root=DIR (--source-param root=DIR), set MTNEURO_DATA, or run" in message


def test_load_recording_with_a_root_that_is_not_there_says_root(no_env: Path):
    missing = no_env / "no" / "dir"
    assert _raised(DataError, load_recording, "chewie-1", root=missing) == (
        f"root (data_root in a task config, --data-root): {missing} is not a folder (not "
        "there); expected an existing folder, or no root for the default lookup")


def test_a_recording_not_downloaded_says_root(no_env: Path):
    message = _raised(DataError, load_recording, "chewie-2", root=no_env)
    assert message.startswith("recording 'chewie-2' is not here (looked in explicit path ")
    assert message.endswith("run `mtneuro data download chewie-2` or pass root=DIR "
                            "(data_root=DIR in a task config, --data-root DIR)")


def test_open_source_names_every_source_and_an_unknown_parameter():
    # in a fresh process no source module is loaded yet: all four are still named
    code = ("from mtneuro.data.sources import open_source\n"
            "for args in (('nope', {}), ('phantom', {'sead': 0})):\n"
            "    try:\n        open_source(args[0], **args[1])\n"
            "    except Exception as err:\n        print(type(err).__name__, err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.splitlines()
    assert out == ["ConfigError unknown source 'nope'; valid: phantom, slice, bossdb, cache",
                   ("ConfigError source parameter 'sead' (--source-param sead=...): source "
                    "'phantom' takes: seed")]
