"""The bring-your-own-encoder examples work through mtneuro's encoder resolution."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from mtneuro.models.user import resolve_encoder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_module_callable_encoder(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES / "byo_encoder"))
    encoder, spec = resolve_encoder("my_encoder:build")
    assert encoder.out_dim == 64 and spec["size"] == 64 and spec["in_channels"] == 1
    encoder.eval()
    with torch.no_grad():
        out = encoder(torch.rand(3, 1, 64, 64))
    assert out.shape == (3, 64)


def test_pip_package_registers_an_entry_point(tmp_path):
    source = tmp_path / "pkg"
    shutil.copytree(EXAMPLES / "mtneuro-example-encoder", source)
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=240)
    (wheel,) = (tmp_path / "dist").glob("mtneuro_example_encoder-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=240)
    probe = (
        "import json, torch\n"
        "from mtneuro.models.user import resolve_encoder\n"
        "enc, spec = resolve_encoder('example-small-cnn')\n"
        "out = enc.eval()(torch.rand(2, 1, 64, 64))\n"
        "print(json.dumps({'out_dim': enc.out_dim, 'shape': list(out.shape), 'module': type(enc).__module__}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report == {"out_dim": 32, "shape": [2, 32], "module": "mtneuro_example_encoder"}
