"""Task-1 settings a run does not read are named when given (and only then)."""

from __future__ import annotations

import warnings

import pytest

from mtneuro.tasks.registry import get_task

TASK1 = get_task("task1")


def _warned(preset: str | None, values: dict) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TASK1.make_config(preset, values)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize(("preset", "values", "expected"), [
    # --epochs for PCA: it trains no network (recorded in metrics.json, changed nothing)
    ("quick", {"method": "pca", "epochs": 5, "probe_cs": [1.0]},
     ["epochs not used: read only by supervised training (this run: method pca, protocol "
      "resized)"]),
    # the quick (resized) protocol reads an encoder by logistic regression, not a trained head
    ("quick", {"method": "encoder", "encoder": "x.pt", "head_epochs": 7, "crop": 16, "lr": 0.5,
               "probe_cs": [0.1, 1.0]},
     ["head_epochs, crop not used: read only by the paper protocol's linear head on an encoder "
      "(this run: method encoder, protocol resized)",
      "lr not used: read only by supervised training or the paper protocol's linear head (this "
      "run: method encoder, protocol resized)"]),
    ("paper", {"method": "byol", "encoder": "x.pt", "probe_cs": [1.0], "input_size": 64,
               "head_epochs": 3, "crop": 96},
     ["probe_cs not used: read only by the logistic-regression readout (this run: method byol, "
      "protocol paper)",
      "input_size not used: the paper protocol reads whole 256-px tiles (this run: method byol, "
      "protocol paper)"]),
    ("quick", {"method": "supervised", "mixup_alpha": 0.3, "n_components": 64,
               "nmf_max_iter": 9},
     ["mixup_alpha not used: read only by supervised-mixup (this run: method supervised, "
      "protocol resized)",
      "n_components not used: read only by PCA / NMF (this run: method supervised, protocol "
      "resized)",
      "nmf_max_iter not used: read only by NMF (this run: method supervised, protocol resized)"]),
])
def test_given_settings_the_run_does_not_read_are_named(preset, values, expected):
    assert _warned(preset, values) == expected


@pytest.mark.parametrize(("preset", "values"), [
    ("quick", {"method": "supervised", "epochs": 3, "lr": 0.1, "batch_size": 8,
               "momentum": 0.5, "weight_decay": 0.0, "input_size": 32}),
    ("quick", {"method": "supervised-mixup", "mixup_alpha": 0.4}),
    ("paper", {"method": "nmf", "n_components": 64, "nmf_max_iter": 50, "probe_cs": [1.0],
               "input_size": 64}),
    ("paper", {"method": "byol", "encoder": "x.pt", "head_epochs": 3, "crop": 96, "lr": 0.1,
               "batch_size": 16, "probe_inputs": "random-crops"}),
    (None, {"method": "pca"}),  # nothing given: nothing said
])
def test_settings_the_run_reads_are_not_named(preset, values):
    assert _warned(preset, values) == []
