"""``mtneuro.pretrain``: images, tensors and volumes in memory train the encoder a volume file
trains (the same 8-bit mapping and views), ``out`` writes what ``mtneuro pretrain`` writes,
the caller's random states are left as they were, and every bad input is refused in one
line naming it. Runs of a 2-stage ResNet on 16 px images: a second or two each."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import mtneuro
from mtneuro.cli.main import cli
from mtneuro.errors import ConfigError
from mtneuro.models.checkpoint import load_encoder

#: one epoch of MYOW, batches of 4, a 2-stage ResNet with narrow heads
TINY = {"epochs": 1, "batch_size": 4, "backbone_params": {"widths": [4, 8]},
        "projector_hidden": 16, "projector_out": 8, "predictor_hidden": 16,
        "mined_projector_hidden": 16, "mined_out": 8}
IMAGES = np.random.default_rng(0).integers(0, 256, (8, 16, 16), dtype=np.uint8)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


@pytest.fixture(scope="module")
def reference() -> mtneuro.pretraining.PretrainResult:
    return mtneuro.pretrain(IMAGES, **TINY)


@pytest.mark.parametrize("images", [
    torch.from_numpy(IMAGES),                    # a tensor
    IMAGES[:, None],                             # (N, 1, H, W)
    IMAGES / 255.0,                              # floats in [0, 1]
    torch.from_numpy(IMAGES[:, None] / 255.0).float(),
], ids=["tensor", "channel-axis", "float", "float-tensor"])
def test_every_form_of_the_same_images_trains_the_same_encoder(reference, images):
    trained = mtneuro.pretrain(images, **TINY)
    assert _same(_weights(trained.encoder), _weights(reference.encoder))
    assert trained.input_spec == reference.input_spec


def test_the_result_is_an_eval_mode_encoder_and_the_seed_matters(reference):
    assert not reference.encoder.training
    assert reference.path is None
    assert reference.steps == 2  # 8 images in batches of 4, one epoch
    assert np.isfinite(reference.final_loss)
    assert reference.input_spec["size"] == 16 and reference.input_spec["channels"] == 1
    other = mtneuro.pretrain(IMAGES, seed=1, **TINY)
    assert not _same(_weights(other.encoder), _weights(reference.encoder))


def test_the_callers_random_states_are_left_as_they_were():
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    expected = (random.random(), np.random.random(), torch.rand(1).item())
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    mtneuro.pretrain(IMAGES, **TINY)  # seeds all three with 0 and draws from them
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected


def test_out_writes_the_returned_encoder_and_refuses_to_replace_it_unasked(reference,
                                                                          tmp_path: Path):
    out = tmp_path / "run"
    trained = mtneuro.pretrain(IMAGES, out=out, **TINY)
    assert trained.path == out / "encoder.pt"
    assert _same(load_encoder(trained.path).state_dict(), _weights(trained.encoder))
    assert _same(_weights(trained.encoder), _weights(reference.encoder))  # out changes nothing
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["task"] == "pretrain" and metrics["metrics"]["steps"] == 2
    assert metrics["source"]["source"] == "images" and metrics["source"]["shape"] == [8, 16, 16]
    assert (out / "checkpoint.pt").is_file() and (out / "train_log.jsonl").is_file()
    with pytest.raises(ConfigError, match=r"^out .*: holds a pre-training run \(checkpoint\.pt, "
                                          r"train_log\.jsonl, encoder\.pt, metrics\.json\); pass "
                                          r"resume=True to continue it, overwrite=True"):
        mtneuro.pretrain(IMAGES, out=out, **TINY)
    resumed = mtneuro.pretrain(IMAGES, out=out, resume=True, **TINY)  # all epochs done
    assert resumed.summary["steps_run"] == 0 and resumed.steps == 2
    assert _same(_weights(resumed.encoder), _weights(trained.encoder))
    with pytest.raises(ConfigError, match=r"cannot resume .*: epochs was 1, now 2; resume with "
                                          r"the settings it was started with, or pass "
                                          r"overwrite=True$"):
        mtneuro.pretrain(IMAGES, out=out, resume=True, **{**TINY, "epochs": 2})
    again = mtneuro.pretrain(IMAGES, out=out, overwrite=True, seed=1, **TINY)
    assert _same(load_encoder(again.path).state_dict(), _weights(again.encoder))


def test_a_volume_trains_as_the_same_volume_file_does(tmp_path: Path):
    volume = np.random.default_rng(1).integers(0, 4096, (3, 40, 33), dtype=np.uint16)
    np.save(tmp_path / "v.npy", volume)
    params = {"tile": 16, "z_step": 1, "window": "0:4095"}  # 3 slices x 2 x 2 tiles
    command = ["pretrain", "--quick", "--quiet", "--source", "volume", "--config",
               str(_tiny_config(tmp_path)), "--out", str(tmp_path / "cli"),
               *(f"--source-param={key}={value}"
                 for key, value in {**params, "path": tmp_path / "v.npy"}.items())]
    threads = torch.get_num_threads()
    try:  # the command sets torch's threads (its sums, so its last bits): the calls use its
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0, result.output
        trained = mtneuro.pretrain(volume=volume, source_params=params, **TINY)
        from_file = mtneuro.pretrain(source="volume", **TINY,
                                     source_params={**params, "path": str(tmp_path / "v.npy")})
    finally:
        torch.set_num_threads(threads)
    assert trained.steps == 3
    assert _same(_weights(from_file.encoder), _weights(trained.encoder))
    assert _same(load_encoder(tmp_path / "cli" / "encoder.pt").state_dict(),
                 _weights(trained.encoder))


def _tiny_config(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


_NAN = IMAGES / 255.0
_NAN[2, 3, 4] = np.nan


@pytest.mark.parametrize(("arguments", "message"), [
    ({}, "pretrain: give the training data one way, images=, volume= or source=; got none"),
    ({"images": IMAGES, "volume": IMAGES},
     ("pretrain: give the training data one way, images=, volume= or source=; got images= and "
      "volume=")),
    ({"images": IMAGES.tolist()}, "images: expected a NumPy array or a torch tensor, got list"),
    ({"images": IMAGES[0]}, ("images: expected a stack of grey images (N, H, W) or (N, 1, H, W), "
                             "got shape (16, 16); one image? pass images[None]")),
    ({"images": np.stack([IMAGES] * 3, axis=1)},
     ("images: expected a stack of grey images (N, H, W) or (N, 1, H, W), got shape "
      "(8, 3, 16, 16); the tasks feed grey images: keep one channel")),
    ({"images": IMAGES.astype(np.int16)},
     ("images holds int16 values (0 to 255); give the intensity window mapped to 0-255, e.g. "
      "source_params={'window': '0:255'}, or a narrower one around the tissue's range")),
    ({"images": IMAGES.astype(np.uint16) * 16},
     ("images holds uint16 values (0 to 4080); give the intensity window mapped to 0-255, e.g. "
      "source_params={'window': '0:4080'}, or a narrower one around the tissue's range")),
    ({"images": _NAN}, ("images: 1 NaN pixels (first at image 2, y=3, x=4); replace them (e.g. by "
                        "the background value) before pre-training")),
    ({"images": IMAGES * 2.0}, ("images: float values run 0.0 to 510.0; expected [0, 1] (mapped "
                                "to 0-255), or give the intensity window mapped to 0-255, e.g. "
                                "source_params={'window': '0:510'}")),
    ({"images": IMAGES[:3]}, ("images: 3 training images, fewer than one batch of 4; pass "
                              "batch_size=3 or less, or give more")),
    ({"images": IMAGES[:1]}, ("images: 1 training image, fewer than one batch of 4; a batch "
                              "holds at least 2, or give more")),
    ({"images": IMAGES, "augment": "mtneuro", "crop": 20},
     "images: images of 16 x 16 px are smaller than the crop of 20 px; pass crop=16 or less"),
    ({"images": IMAGES[:, :4]}, ("images: images of 4 x 16 px; expected at least 8 x 8 (the "
                                 "smallest encoders' input)")),
    ({"images": np.zeros((8, 16, 16), np.uint8)},
     "images holds one value (0) in every voxel read: nothing to train on"),
    ({"images": IMAGES, "source_params": {"tile": 8}},
     "source_params: 'tile' is no parameter of images=; it takes: window"),
    ({"volume": IMAGES[:, None]},
     ("volume: expected a 3D array (z, y, x) or one 2D slice, got shape (8, 1, 16, 16); a stack "
      "of images? pass images= instead")),
    ({"volume": IMAGES}, ("volume: slices of 16 x 16 px are smaller than a tile of 64 px; give "
                          "source_params={'tile': 16} or less")),
    ({"images": IMAGES, "out_dir": "x"}, "out_dir: set by the argument out=, not a setting"),
    ({"images": IMAGES, "resume": True}, "resume: continues the run in out=, but out is None"),
    ({"images": IMAGES, "overwrite": True},
     "overwrite: replaces the run in out=, but out is None"),
    ({"source": "volume"}, ("source_params: source 'volume' reads a file: give {'path': FILE}, "
                            "or pass the array as volume=")),
])
def test_each_bad_input_is_refused_in_one_line_naming_it(arguments, message):
    with pytest.raises(ConfigError) as refused:
        mtneuro.pretrain(**{**TINY, **arguments})
    assert str(refused.value) == message


def test_an_unknown_setting_is_refused_by_the_config(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^epocs: unknown key \(did you mean 'epochs'\?\)"):
        mtneuro.pretrain(IMAGES, epocs=1)
    with pytest.raises(ConfigError, match=r"^batch_size: "):
        mtneuro.pretrain(IMAGES, batch_size=1)
    with pytest.raises(ConfigError, match=r"^out .*: holds no checkpoint\.pt to resume"):
        mtneuro.pretrain(IMAGES, out=tmp_path, resume=True, **TINY)


def test_the_encoder_scores_on_task1(reference):
    (result,) = mtneuro.evaluate(reference.encoder, tasks="task1/roi-c1", preset="quick",
                                 source="phantom")
    assert 0.0 <= result.headline["accuracy"] <= 1.0
