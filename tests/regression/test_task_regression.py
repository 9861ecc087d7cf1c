"""Behaviour is preserved: small fixed-seed CPU runs of tasks 1-3 through the task contract
(:func:`mtneuro.report.record.run_and_record`) give the metrics recorded before the contract
existed (``tests/fixtures/regression_tasks.json``: ``run_task1`` / ``run_task2`` /
``run_task3`` with the ``quick`` preset and these params at commit 0e9d54f).

Equality is exact (floats compared after the same JSON round trip as ``metrics.json``): the
computations are unchanged, only the code around them moved. Timing keys are left out, and
so are the bootstrap ``intervals`` added since (issue 19): new numbers beside the old ones.
The SSL cells (on-the-fly pre-training) take a minute each and run with ``--run-slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "regression_tasks.json"
CELLS = json.loads(FIXTURE.read_text())["cells"]
TIMING = {"read_s", "train_s", "eval_s", "wall_s"}
ADDED = {"intervals"}  # keys recorded after the fixture (issue 19)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING | ADDED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _run(cell: dict, out) -> dict:
    """The cell through the task contract: its ``quick`` config, run and recorded."""
    from mtneuro.report.record import load_result, run_and_record
    from mtneuro.tasks.registry import get_task

    params = dict(cell["params"])
    if "pretrain_epochs" in params:  # the pre-training settings are nested since issue 16
        params["pretrain"] = {"epochs": params.pop("pretrain_epochs")}
    task = get_task(cell["task"])
    result = run_and_record(task, task.make_config("quick", params), out)
    assert load_result(out).metrics == json.loads(json.dumps(result.to_json()))["metrics"]
    return json.loads(json.dumps(result.to_json()["metrics"]))


@pytest.mark.parametrize(
    "cell",
    [pytest.param(c, id=c["id"], marks=[pytest.mark.slow] if c.get("slow") else [])
     for c in CELLS],
)
def test_metrics_equal_the_recorded_ones(cell, tmp_path):
    assert _strip(_run(cell, tmp_path)) == cell["metrics"]
