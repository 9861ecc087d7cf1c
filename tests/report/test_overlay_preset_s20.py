"""A task-2 overlay title names the preset a run started from and, where the run changed its
training or scoring settings, which ones: "quick preset" alone passed a 1-epoch run with other
slices for the preset's."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from mtneuro.config import to_dict
from mtneuro.report.plots_segmentation import plot_task2
from mtneuro.tasks.segmentation.config import task2_config

CLASSES = ["background+axon", "vessel", "cell"]


def _result(**changes: Any) -> dict[str, Any]:
    config = to_dict(task2_config("quick", model="unet", classes=3, seeds=[4], device="cpu",
                                  eval_batch_size=2, **changes))
    examples = {"image": np.zeros((1, 4, 4), np.uint8), "truth": np.zeros((1, 4, 4), np.uint8),
                "prediction": np.zeros((1, 4, 4), np.uint8), "region": np.array([0]),
                "region_names": ["cortex"], "class_names": CLASSES}
    return {"metrics": {"model": "unet", "setting": {"dim": "2d", "classes": 3}},
            "config": json.loads(json.dumps(config)),  # as metrics.json holds it
            "source": {"source": "phantom"}, "examples": examples}


@pytest.mark.parametrize(("changes", "said"), [
    ({}, "unet, 2d 3-class, quick preset, seed 4, on phantom"),
    ({"train": {"epochs": 1}, "train_z_step": 100},
     "unet, 2d 3-class, quick preset (changed: train.epochs, train_z_step), seed 4, on phantom"),
    ({"train": {"epochs": 1, "lr": 0.1, "crop": 64}, "window": 64},
     "quick preset (changed: train.crop, train.epochs, train.lr, ...), seed 4"),
])
def test_an_overlay_title_names_what_the_run_changed_from_its_preset(
        captured: list, tmp_path, changes: dict, said: str) -> None:
    plot_task2(_result(**changes), tmp_path)
    title = " ".join(captured[0]._suptitle.get_text().split())
    assert said in title
