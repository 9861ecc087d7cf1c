"""Behaviour is preserved for neural decoding: small fixed-seed CPU runs (torch threads 1)
give the metrics and learning curves recorded before neural decoding's training loop was
shared with the image trainer (``tests/fixtures/regression_neural.json``, recorded at the
commit it names).

Equality is exact (floats compared after the same JSON round trip as ``metrics.json``).
Timing keys are left out. Cells marked ``shared_data`` read ``../shared/data`` (mouse CA1);
cells marked ``slow`` run with ``--run-slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "regression_neural.json"
CELLS = json.loads(FIXTURE.read_text())["cells"]
TIMING = {"wall_s", "train_wall_s"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.mark.parametrize(
    "cell",
    [pytest.param(c, id=c["id"], marks=[pytest.mark.slow] if c.get("slow") else [])
     for c in CELLS],
)
def test_neural_metrics_equal_the_recorded_ones(cell, tmp_path, request):
    import torch

    from mtneuro.report.record import load_result, run_and_record
    from mtneuro.tasks.registry import get_task

    values = dict(cell["params"])
    if cell.get("shared_data"):
        values["data_root"] = str(request.getfixturevalue("shared_data"))
    task = get_task("neural")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_and_record(task, task.make_config("quick", values), tmp_path)
    finally:
        torch.set_num_threads(previous)
    metrics = json.loads(json.dumps(result.to_json()["metrics"]))
    assert load_result(tmp_path).metrics == metrics
    assert _strip(metrics) == cell["metrics"]
    assert json.loads(json.dumps(result.artefacts["outcome"].curve)) == cell["curve"]
