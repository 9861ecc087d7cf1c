"""No checkpoint mtneuro reads runs code: planted pickles, garbage, missing keys fail in one line.

The planted file is a real exploit: unpickling it with the full unpickler calls
``open(marker, "w")``, so the marker file appears exactly when code ran.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.checkpoint_io import save_state
from mtneuro.cli.main import main
from mtneuro.errors import MtneuroError
from mtneuro.models.checkpoint import load_encoder
from mtneuro.ssl.checkpoint import load_checkpoint
from mtneuro.tasks.segmentation.batches import CropBatches
from mtneuro.tasks.segmentation.config import TrainSettings
from mtneuro.tasks.segmentation.train import train_segmentation


class _Exploit:
    """Pickles as a call of ``open(marker, "w")``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path, marker) -> None:
    """A checkpoint-looking dict whose unpickling creates ``marker``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"checkpoint_version": 1, "epoch": 0, "step": 0, "hook": _Exploit(marker)}, path)


def test_the_planted_file_really_runs_code_when_fully_unpickled(tmp_path):
    plant(tmp_path / "evil.pt", tmp_path / "pwned")
    torch.load(tmp_path / "evil.pt", weights_only=False)  # what the old loaders did
    assert (tmp_path / "pwned").exists()


def _load_ssl(path):
    load_checkpoint(path)


def _load_task2(path):
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, size=(4, 16, 16))
    batches = CropBatches((masks * 50).astype(np.uint8)[:, None], masks, batch_size=2, crop=16)
    net = nn.Sequential(nn.Conv2d(1, 3, 1))
    train_segmentation(net, batches, TrainSettings(epochs=1), n_classes=3, checkpoint=path,
                       resume=True, quiet=True)


def _load_encoder(path):
    load_encoder(path)


LOADERS = {"ssl-resume": _load_ssl, "task2-resume": _load_task2, "encoder": _load_encoder}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_planted_pickle_is_refused_without_running(tmp_path, loader):
    path, marker = tmp_path / "run" / "checkpoint.pt", tmp_path / "pwned"
    plant(path, marker)
    with pytest.raises(MtneuroError) as err:
        LOADERS[loader](path)
    assert not marker.exists()
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "weights_only" in message


@pytest.mark.parametrize("loader", list(LOADERS))
def test_garbage_file_is_refused_in_one_line(tmp_path, loader):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive" * 10)
    with pytest.raises(MtneuroError) as err:
        LOADERS[loader](path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_raw_pickle_is_refused_without_torch_warnings_around_the_line(tmp_path, recwarn):
    """A plain pickle (protocol 4, not torch's zip format) made torch warn twice about its
    protocol before the refusal, so the one-line error came with four more lines."""
    import pickle

    path = tmp_path / "raw.pt"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(MtneuroError):
        _load_encoder(path)
    assert [str(w.message) for w in recwarn] == []


def test_pretrain_resume_from_a_planted_checkpoint_exits_2_with_one_line(tmp_path, capsys):
    out, marker = tmp_path / "run", tmp_path / "pwned"
    plant(out / "checkpoint.pt", marker)
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--method", "byol", "--source", "slice", "--quick", "--quiet",
              "--epochs", "1", "--out", str(out), "--resume"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and not marker.exists()
    assert err.count("\n") == 1 and "checkpoint.pt" in err and "Traceback" not in err


@pytest.mark.parametrize("key", ["optimizer", "history"])
def test_task2_checkpoint_with_a_missing_key_is_refused_in_one_line(tmp_path, key):
    path = tmp_path / "seed0.pt"
    _load_task2(path)  # no checkpoint yet: trains one epoch and writes it
    state = torch.load(path, weights_only=True)
    del state[key]
    save_state(path, state)
    with pytest.raises(MtneuroError) as err:
        _load_task2(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value) and key in str(err.value)


def test_encoder_file_naming_code_to_call_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = {"format": "mtneuro-encoder/1", "name": "os:system",
               "kwargs": {"command": f"touch {marker}"}, "state_dict": {}, "out_dim": 1,
               "input": {}, "meta": {}}
    torch.save(payload, tmp_path / "encoder.pt")  # plain values only: loads with weights_only
    with pytest.raises(MtneuroError) as err:
        load_encoder(tmp_path / "encoder.pt")
    assert not marker.exists()
    assert "\n" not in str(err.value) and "'os:system'" in str(err.value)
