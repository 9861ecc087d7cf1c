"""Speed settings of the trainer: channels-last where oneDNN handles the model (same losses
as NCHW), ``fit`` inside :func:`mtneuro.cpu_memory.retained_cpu_memory`, and the autocast
type that ``amp="auto"`` picks (shared with task 2)."""

from __future__ import annotations

import json

import pytest
import torch
from ssl_train_helpers import flip_noise_view

from mtneuro.acceleration import autocast_dtype, channels_last_pays
from mtneuro.errors import ConfigError
from mtneuro.models.registry import create_encoder
from mtneuro.ssl import trainer
from mtneuro.ssl.myow import MYOW

CPU = torch.device("cpu")
SETTINGS = trainer.TrainSettings(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0, base_momentum=0.9,
                         mined_weight=0.5, mined_rampup_epochs=1, pool_size=16, seed=3,
                         log_every=1, quiet=True)


def _myow(widths: tuple[int, ...]) -> MYOW:
    torch.manual_seed(0)
    encoder = create_encoder("resnet-tiny", in_channels=1, widths=widths)
    return MYOW(encoder, projector_hidden=16, projector_out=8, predictor_hidden=16,
                mined_projector_hidden=16, mined_out=8)


def test_cpu_fp32_stays_nchw_only_for_the_shapes_that_crash_onednn():
    narrow, wide = _myow((4, 8)), _myow((16, 32))  # strided 1x1 shortcut from 4 / 16 channels
    assert not channels_last_pays(narrow, CPU, None)
    assert channels_last_pays(narrow, CPU, torch.bfloat16)
    assert channels_last_pays(narrow, torch.device("cuda"), None)
    assert channels_last_pays(wide, CPU, None)
    assert channels_last_pays(create_encoder("resnet18", in_channels=1), CPU, None)
    # 3D models have no NHWC format (channels_last raises on 5-D weights), on any device
    volumetric = create_encoder("resnet-tiny", spatial_dims=3, widths=(16, 32))
    assert not channels_last_pays(volumetric, CPU, None)
    assert not channels_last_pays(volumetric, torch.device("cuda"), torch.bfloat16)


def _run(images, out_dir, channels_last: bool) -> tuple[list[float], MYOW]:
    method = _myow((16, 32))
    optimizer = torch.optim.SGD(method.parameters(), lr=SETTINGS.lr, momentum=0.9)
    settings = trainer.TrainSettings(**{**SETTINGS.__dict__, "channels_last": channels_last})
    trainer.Trainer(method, optimizer, images[:48], flip_noise_view, settings, out_dir).fit()
    log = [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]
    return [line["loss"] for line in log], method


def _second_conv(method: MYOW) -> torch.Tensor:
    # The stem's weight (16, 1, 3, 3) is contiguous in both layouts; this one is not.
    return method.online_encoder.stages[0][0].conv1.weight


def test_channels_last_cpu_run_matches_nchw(digits_images, tmp_path):
    nchw, nchw_method = _run(digits_images, tmp_path / "nchw", channels_last=False)
    nhwc, nhwc_method = _run(digits_images, tmp_path / "nhwc", channels_last=True)
    nhwc_conv, nchw_conv = (_second_conv(m) for m in (nhwc_method, nchw_method))
    assert nhwc_conv.is_contiguous(memory_format=torch.channels_last)
    assert not nhwc_conv.is_contiguous() and nchw_conv.is_contiguous()
    # Same arithmetic in another summation order: equal up to float32 rounding.
    assert nhwc == pytest.approx(nchw, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("retain", [True, False])
def test_fit_runs_inside_retained_memory_on_cpu(digits_images, tmp_path, retained_memory_calls,
                                                retain):
    method = _myow((16, 32))
    optimizer = torch.optim.SGD(method.parameters(), lr=0.05)
    settings = trainer.TrainSettings(**{**SETTINGS.__dict__, "retain_cpu_memory": retain})
    trainer.Trainer(method, optimizer, digits_images[:32], flip_noise_view, settings, tmp_path).fit()
    assert retained_memory_calls == [(retain, "cpu")]


@pytest.mark.parametrize("has_bf16, expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_auto_precision_is_bf16_where_the_gpu_has_it(monkeypatch, has_bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: has_bf16)
    assert autocast_dtype("auto", torch.device("cuda")) is expected
    assert autocast_dtype("auto", torch.device("cpu")) is None
    assert autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    with pytest.raises(ConfigError, match="'fp16' needs a CUDA device"):
        autocast_dtype("fp16", torch.device("cpu"))
    with pytest.raises(ConfigError, match="amp: expected one of"):
        autocast_dtype("half", torch.device("cuda"))
