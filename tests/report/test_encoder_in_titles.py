"""Figures name a user's encoder as the terminal line does (``encoder (SPEC)``), not the bare
method: two encoders' figures would look alike otherwise."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from report_fixture import PHANTOM, task2_result

from mtneuro.report import plots_segmentation
from mtneuro.report.task_figures import neural_figures
from mtneuro.tasks.api import Result


def _flat(title: str) -> str:
    return " ".join(title.split())


def test_neural_and_task2_figures_name_the_users_encoder_as_the_terminal_does(captured,
                                                                             tmp_path):
    label = np.array([0, 1, 0, 1])
    outcome = SimpleNamespace(
        recording=SimpleNamespace(class_names=["a", "b"]), metrics={"seed": 0}, test_pred=label,
        test_label=label, test_features=np.eye(4), feature_label=label, curve=[],
        selection=[], kept_step=None)
    result = Result(task="neural", setting="chewie-1", method="encoder", metrics={},
                    headline={}, config={"seeds": [0], "encoder": "runs/a/encoder.pt"},
                    source=PHANTOM, card={}, artefacts={"outcome": outcome})
    neural_figures(result, tmp_path)
    assert _flat(captured[0].axes[0].get_title()).startswith(
        "encoder (runs/a/encoder.pt) on phantom")
    segmentation = task2_result("ssl-unet")
    segmentation["config"] = {"seeds": [0], "encoder": "runs/pt/encoder.pt"}
    plots_segmentation.plot_task2(segmentation, tmp_path)
    assert "ssl-unet (runs/pt/encoder.pt), 2d 4-class" in _flat(captured[-1]._suptitle.get_text())
