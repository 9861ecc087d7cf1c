"""Task 1 (brain-region classification) in the task contract (:mod:`mtneuro.tasks.api`).

Presets: ``paper`` (the released MTNeuro scripts: the ``paper`` protocol at full size, also
what no preset gives) and ``quick`` (the ``resized`` protocol at small sizes: every 8th
slice, ``resnet-tiny``, 8 epochs, the quick pre-training). The config, run and protocol
are :mod:`mtneuro.tasks.region` and :mod:`mtneuro.tasks.region_protocol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtneuro.data.spec import REGION_SETTINGS
from mtneuro.tasks.api import Task
from mtneuro.vocab import ENCODER_METHOD, SSL_METHODS, TASK_TITLES, VOLUME_METHODS


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Accuracy, mean over seeds."""
    return {"accuracy": metrics["accuracy"]["mean"]}


TASK1 = Task(
    name="task1",
    title=TASK_TITLES["task1"],
    config="mtneuro.tasks.region_config:Task1Config",
    run="mtneuro.tasks.region:run",
    card="mtneuro.tasks.region_protocol:task1_card",
    headline=headline,
    settings=tuple(REGION_SETTINGS),
    methods=VOLUME_METHODS,
    presets={"paper": {"protocol": "paper"}, "quick": {"quick": True}},
    figures="mtneuro.report.task_figures:task1_figures",
    encoder="image",
    encoder_method=ENCODER_METHOD,
    pretrain_methods=SSL_METHODS,
    encoder_inputs="mtneuro.tasks.region_inputs:task1_input_shapes",
    complete="mtneuro.tasks.region_unused:complete_task1",
)
