"""``--resume`` refuses a checkpoint whose run started from other encoder weights: another
value of ``encoder_weights``, or the same file path holding other weights."""

from __future__ import annotations

import pytest

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

import segmentation_models_pytorch as smp
import torch
from grid_source import GridSource

from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation.config import task2_config
from mtneuro.tasks.segmentation.run import encoder_weights_fingerprint, run_task2

TINY = {"train_z_step": 100, "test_z_step": 50, "window": 256, "eval_batch_size": 8,
        "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1}}


def _save_encoder(path, scale=1.0):
    torch.manual_seed(0)
    encoder = smp.encoders.get_encoder("resnet18", in_channels=1, weights=None)
    torch.save({k: v * scale if v.is_floating_point() else v
                for k, v in encoder.state_dict().items()}, path)


def _run(tmp_path, weights, resume=False):
    config = task2_config(None, model="unet", classes=3, encoder_weights=weights, **TINY)
    return run_task2(config, source=GridSource(), checkpoint_dir=tmp_path / "ck",
                     resume=resume, quiet=True)


def test_resume_with_other_encoder_weights_is_refused(tmp_path):
    weights = tmp_path / "encoder.pt"
    _save_encoder(weights)
    _run(tmp_path, str(weights))
    _run(tmp_path, str(weights), resume=True)  # the same weights resume
    with pytest.raises(ConfigError, match=r"different run \(fingerprint\.encoder_weights was "
                                          r"\{'value': .*encoder\.pt', 'sha256': .*now None\)"):
        _run(tmp_path, None, resume=True)
    _save_encoder(weights, scale=0.5)  # same path, other weights
    with pytest.raises(ConfigError, match=r"different run \(fingerprint\.encoder_weights\.sha256 "
                                          r"was '[0-9a-f]{64}', now '[0-9a-f]{64}'\)"):
        _run(tmp_path, str(weights), resume=True)


def test_fingerprint_of_each_kind_of_encoder_weights(tmp_path):
    assert encoder_weights_fingerprint(None) == {}  # older checkpoints of random init resume
    assert encoder_weights_fingerprint("imagenet") == {"encoder_weights": {"value": "imagenet"}}
    path = tmp_path / "w.pt"
    path.write_bytes(b"abc")
    assert encoder_weights_fingerprint(str(path))["encoder_weights"]["sha256"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # SHA-256 of "abc"


def test_resume_with_another_ssl_unet_encoder_in_the_same_file_is_refused(tmp_path):
    from mtneuro.models import create_encoder, save_encoder

    def save(seed):
        torch.manual_seed(seed)
        save_encoder(tmp_path / "byol.pt", create_encoder("resnet-tiny", in_channels=1),
                     name="resnet-tiny", kwargs={"in_channels": 1},
                     input_spec={"spatial_dims": 2, "size": 32, "mean": 0.5, "std": 0.25})

    def run(resume=False):
        config = task2_config(None, model="ssl-unet", classes=3, encoder=str(tmp_path / "byol.pt"),
                              **TINY)
        return run_task2(config, source=GridSource(), checkpoint_dir=tmp_path / "ck",
                         resume=resume, quiet=True)

    save(0)
    run()
    run(resume=True)
    save(1)  # other weights under the same path
    with pytest.raises(ConfigError, match=r"fingerprint\.encoder_sha256 was '[0-9a-f]{64}'"):
        run(resume=True)
