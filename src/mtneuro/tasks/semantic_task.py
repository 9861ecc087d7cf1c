"""Task 3 (semantic features from frozen embeddings) in the task contract
(:mod:`mtneuro.tasks.api`).

Presets: ``paper`` (all slices, 256 PCA / NMF components; also what no preset gives) and
``quick`` (every 8th slice, ``resnet-tiny``, 32 components). Headline numbers, per
feature: ``r2_<feature>``, the in-sample R² of the released script (the published
table's definition, so the column compared with it), and ``r2_test_<feature>``, the
held-out R² on the test slices (the honest number). The config and run are
:mod:`mtneuro.tasks.semantic_probe`; the card :func:`mtneuro.tasks.protocol.task3_card`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtneuro.tasks.api import Task
from mtneuro.vocab import ENCODER_METHOD, SSL_METHODS, TASK_TITLES, VOLUME_METHODS


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {f"r2_{f}": metrics["r2_in_sample_reference"][f]["mean"] for f in metrics["features"]}
    out.update({f"r2_test_{f}": metrics["r2_test"][f]["mean"] for f in metrics["features"]})
    return out


TASK3 = Task(
    name="task3",
    title=TASK_TITLES["task3"],
    config="mtneuro.tasks.semantic_config:Task3Config",
    run="mtneuro.tasks.semantic_probe:run",
    card="mtneuro.tasks.protocol:task3_card",
    headline=headline,
    settings=("roi-c1", "roi-c3"),
    methods=VOLUME_METHODS,
    presets={"paper": {}, "quick": {"quick": True}},
    figures="mtneuro.report.task_figures:task3_figures",
    encoder="image",
    encoder_method=ENCODER_METHOD,
    pretrain_methods=SSL_METHODS,
    encoder_inputs="mtneuro.tasks.semantic_probe:task3_input_shapes",
    complete="mtneuro.tasks.volume:with_pretrain",
)
