"""A task-2 run's record names the device it ran on: ``device: auto`` (the command's default)
was recorded as ``auto`` where tasks 1 and 3 record ``cpu`` or ``cuda``
(docs/guarantees.md)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
pytest.importorskip("monai", reason="needs mtneuro[seg]")

from grid_source import GridSource  # noqa: E402
from scale_net import ScaleNet  # noqa: E402

from mtneuro.devices import resolve_device  # noqa: E402
from mtneuro.tasks.segmentation import run as run_module  # noqa: E402
from mtneuro.tasks.segmentation.config import task2_config  # noqa: E402

TINY: dict[str, Any] = {"model": "unet", "train_z_step": 100, "test_z_step": 50, "window": 256,
                        "eval_batch_size": 8, "examples_per_region": 1,
                        "train": {"epochs": 1, "crop": 32, "batch_size": 2, "steps_per_epoch": 1}}


def test_auto_is_recorded_as_the_device_that_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "create_segmentation_model",
                        lambda name, classes, dim, **kw: ScaleNet(classes))
    monkeypatch.setattr(run_module, "train_segmentation", lambda *a, **kw: {"steps": 0})
    monkeypatch.setattr(run_module, "open_source", lambda name, **kw: GridSource())
    config = task2_config(None, device="auto", quiet=True, **TINY)
    assert config.device == "auto"
    result = run_module.run(config)
    assert result.config["device"] == str(resolve_device("auto"))  # "cpu" without a GPU
