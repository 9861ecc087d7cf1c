"""``TrainSettings.compile`` compiles the encoders in place and computes the same step."""

from __future__ import annotations

import json

import pytest
import torch
from ssl_train_helpers import flip_noise_view, tiny_myow

from mtneuro.ssl.trainer import Trainer, TrainSettings

SETTINGS = TrainSettings(epochs=1, batch_size=16, lr=0.05, warmup_epochs=0, base_momentum=0.9,
                         mined_weight=0.5, mined_rampup_epochs=1, pool_size=16, seed=3,
                         log_every=1, quiet=True)


def _losses(images, out_dir, compile: bool) -> tuple[list[float], list[str]]:
    method = tiny_myow(seed=SETTINGS.seed)
    optimizer = torch.optim.SGD(method.parameters(), lr=SETTINGS.lr, momentum=0.9)
    settings = TrainSettings(**{**SETTINGS.__dict__, "compile": compile})
    Trainer(method, optimizer, images[:48], flip_noise_view, settings, out_dir).fit()
    log = [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]
    return [line["loss"] for line in log], sorted(method.state_dict())


def test_compiled_encoders_give_the_eager_losses_and_keys(digits_images, tmp_path, monkeypatch):
    # aot_eager traces forward and backward exactly as inductor would, without minutes of
    # C++ code generation on a 2-core CI machine; the real backend is timed in benchmarks/.
    compile_in_place = torch.nn.Module.compile
    calls = []

    def traced(module, *args, **kwargs):
        calls.append(type(module).__name__)
        compile_in_place(module, *args, **{**kwargs, "backend": "aot_eager"})

    monkeypatch.setattr(torch.nn.Module, "compile", traced)
    torch._dynamo.reset()
    eager, eager_keys = _losses(digits_images, tmp_path / "eager", compile=False)
    compiled, compiled_keys = _losses(digits_images, tmp_path / "compiled", compile=True)
    assert len(calls) == 2  # the online and the target encoder
    assert compiled_keys == eager_keys  # checkpoints stay loadable without a compile prefix
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-5)
