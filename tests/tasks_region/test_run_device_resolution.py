"""Tasks 1 and 3 resolve their ``device`` once per run, before any data is read, through
either public entry point (``run`` of the task contract, or ``run_task1`` / ``run_task3``),
and the record names the device that ran."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtneuro import devices
from mtneuro.tasks import region, semantic_probe
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.semantic import feature_matrix, semantic_features
from mtneuro.tasks.semantic_task import TASK3
from mtneuro.tasks.volume import SplitData

HERE = "cuda" if torch.cuda.is_available() else "cpu"


def _region_splits() -> dict[str, SplitData]:
    """Small tiles whose brightness is their class."""
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", 32), ("val", 8), ("test", 8)):
        labels = np.arange(n) % 4
        tiles = 60 + 40 * labels[:, None, None] + rng.normal(0, 5, (n, 16, 16))
        out[split] = SplitData(np.clip(tiles, 0, 255).astype(np.uint8)[:, None], labels,
                               np.arange(n))
    return out


def _task3_data(n: int = 24) -> semantic_probe.Task3Data:
    """Random tiles over the task-3 slices, with features of random vessel labels."""
    rng = np.random.default_rng(0)
    labels = (rng.random((n, 256, 256)) < 0.3).astype(np.uint8)  # 1 = vessel
    images = (40 + 150 * labels).astype(np.uint8)[:, None]
    z = np.linspace(110, 469, n).astype(np.int64)
    features = feature_matrix(semantic_features(labels, 128, "2d"))
    return semantic_probe.Task3Data(images, z, np.arange(n) % 4, features, "2d")


@pytest.fixture
def calls(monkeypatch):
    """Every resolution and data read of the run, in order."""
    events: list[str] = []
    real = devices.with_run_device

    def counted(config, key="device"):
        events.append("resolve")
        return real(config, key)

    # both tasks resolve through devices.checked_run_config, which looks it up there
    monkeypatch.setattr(devices, "with_run_device", counted)

    def read_region(*args, **kwargs):
        events.append("read")
        return _region_splits(), {"name": "fake"}

    def read_task3(config):
        events.append("read")
        return _task3_data(), {"name": "fake"}

    monkeypatch.setattr(region, "load_region_splits", read_region)
    monkeypatch.setattr(semantic_probe, "load_task3_data", read_task3)
    return events


def test_task1_contract_resolves_the_device_once_before_reading(calls):
    config = TASK1.make_config(None, {"method": "pca", "seeds": [0], "protocol": "resized",
                                      "input_size": 8, "n_components": 4, "device": "auto"})
    result = region.run(config)
    assert calls == ["resolve", "read"]
    assert result.config["device"] == HERE


def test_task1_run_function_resolves_the_device_once(calls):
    config = TASK1.make_config(None, {"method": "pca", "seeds": [0], "protocol": "resized",
                                      "input_size": 8, "n_components": 4, "device": "auto"})
    out = region.run_task1(config)
    assert calls == ["resolve", "read"]
    assert out["config"]["device"] == HERE


def test_task3_contract_resolves_the_device_once_before_reading(calls):
    config = TASK3.make_config(None, {"method": "pca", "seeds": [0], "n_components": 4,
                                      "pixel_input_size": 16, "cv": 2, "device": "auto"})
    result = semantic_probe.run(config)
    assert calls == ["resolve", "read"]
    assert result.config["device"] == HERE


def test_task3_run_function_resolves_the_device_once(calls):
    config = TASK3.make_config(None, {"method": "pca", "seeds": [0], "n_components": 4,
                                      "pixel_input_size": 16, "cv": 2, "device": "auto"})
    out = semantic_probe.run_task3(config)
    assert calls == ["resolve", "read"]
    assert out["config"]["device"] == HERE
