"""A device setting names a device this machine has, or fails in one line before any work."""

import pytest
import torch
from cli_probe import assert_one_line_error, invoke

from mtneuro.devices import resolve_device
from mtneuro.errors import ConfigError


def test_cpu_and_auto_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu", ""])
def test_names_torch_cannot_use_name_the_key_and_the_choices(name):
    with pytest.raises(ConfigError,
                       match=r"train\.device: expected auto, cpu, cuda, cuda:N or mps"):
        resolve_device(name, "train.device")


def test_a_cuda_index_past_the_last_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match=r"'cuda:2': this machine has 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ConfigError, match="CUDA is not available on this machine"):
        resolve_device("cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
@pytest.mark.parametrize("command", [["task2", "--model", "unet", "--quick"],
                                     ["task1", "--method", "supervised", "--quick"]])
def test_mps_off_apple_silicon_is_one_line_before_any_work(tmp_path, command):
    outcome = invoke([*command, "--device", "mps", "--out", str(tmp_path / "run")], tmp_path)
    assert_one_line_error(outcome, "'mps'", "MPS (Apple GPU) is not available", "--device cpu")
    assert not (tmp_path / "run").exists()
