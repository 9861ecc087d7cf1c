"""A local ``encoder_weights`` file is read with the project's safe loader: a damaged, foreign
or code-carrying file fails in one line naming it, never with a traceback from torch."""

from __future__ import annotations

import fractions
import pickle

import pytest
import torch

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")

from mtneuro.errors import ConfigError, DataError  # noqa: E402
from mtneuro.models.segmentation_2d import build_smp  # noqa: E402


def _write_corrupt(path):
    path.write_bytes(b"PK\x03\x04 not really a zip" + bytes(range(256)))


class Payload:
    """A class the weights-only unpickler does not know: loading it would run its code."""


def _write_object_pickle(path):
    torch.save({"conv1.weight": Payload()}, path)


def _write_plain_pickle(path):
    path.write_bytes(pickle.dumps({"conv1.weight": fractions.Fraction(1, 3)}))


def _write_non_tensor_values(path):
    torch.save({"conv1.weight": [1.0, 2.0]}, path)  # loads safely, but holds no tensors


def _write_list(path):
    torch.save([torch.zeros(2)], path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch on the plain pickle
@pytest.mark.parametrize("write", [_write_corrupt, _write_object_pickle, _write_plain_pickle,
                                   _write_non_tensor_values, _write_list])
def test_bad_encoder_weights_file_fails_in_one_line_naming_it(tmp_path, write):
    path = tmp_path / "weights.pt"
    write(path)
    with pytest.raises((ConfigError, DataError)) as info:
        build_smp("unet", 3, encoder_weights=str(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    error = info.value  # no torch traceback chained to it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_missing_encoder_weights_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="encoder_weights: file not found"):
        build_smp("unet", 3, encoder_weights=str(tmp_path / "missing.pt"))
