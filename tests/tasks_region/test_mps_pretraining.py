"""``task1 --method myow --device mps`` failed on ``pretrain.device``, a key the user never set
(portability audit): the pre-training on the fly takes the task's device and runs on cpu or
cuda only, so the error names ``--device`` and the ways out. Played on an Apple machine: MPS
is said to be available."""

from __future__ import annotations

import pytest
import torch
from cli_capture import run

from mtneuro.errors import ConfigError
from mtneuro.tasks.registry import get_task

_WAYS_OUT = ("pre-trains its encoder on the fly, on cpu or cuda only; use --device cpu, or "
             "pre-train with `mtneuro pretrain` and pass its encoder.pt with --encoder\n")


@pytest.fixture(autouse=True)
def apple_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


@pytest.mark.parametrize(("task", "method"), [("task1", "myow"), ("task1", "byol"),
                                              ("task3", "myow-merged")])
def test_mps_with_pretraining_on_the_fly_names_the_option_given(
        task: str, method: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([task, "--method", method, "--device", "mps", "--quick",
                        "--out", str(tmp_path / "o")], capsys)
    assert (code, err) == (2, f"error: device 'mps' (--device mps): {method} " + _WAYS_OUT)
    assert not (tmp_path / "o").exists()


def test_a_device_no_run_takes_is_named_by_the_tasks_key() -> None:
    with pytest.raises(ConfigError, match=r"^device: expected 'cpu', 'cuda', 'cuda:N' or "
                                          r"'auto' \(myow pre-trains its encoder on the fly\), "
                                          r"got 'tpu'$"):
        get_task("task1").make_config("quick", {"method": "myow", "device": "tpu"})


@pytest.mark.parametrize("values", [
    {"method": "supervised"},  # trains on the task's device: mps is taken
    {"method": "myow", "encoder": "encoder.pt"},  # the way out: the encoder pre-trained apart
])
def test_mps_stays_for_runs_that_pretrain_nothing(values: dict[str, str]) -> None:
    config = get_task("task1").make_config("quick", {**values, "device": "mps"})
    assert config.device == "mps" and config.pretrain is None


def test_an_indexed_mps_device_gets_the_ways_out_too() -> None:
    with pytest.raises(ConfigError, match=r"^device 'mps:0' \(--device mps:0\): myow pre-trains "
                                          r"its encoder on the fly, on cpu or cuda only; .*"
                                          r"--encoder$"):
        get_task("task1").make_config("quick", {"method": "myow", "device": "mps:0"})
