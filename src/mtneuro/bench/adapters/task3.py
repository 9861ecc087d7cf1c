"""Bench adapter of task 3 (semantic features from frozen embeddings,
:func:`mtneuro.tasks.semantic_probe.run_task3`).

Settings are ``roi-c1`` and ``roi-c3``; methods are the task's (``supervised``,
``supervised-mixup``, ``byol``, ``myow``, ``myow-merged``, ``pca``, ``nmf``, and
``encoder`` for a user encoder); preset ``quick`` selects the task's quick preset.

Headline numbers, per feature: ``r2_<feature>`` is the in-sample R² of the released
MTNeuro script (``LinearRegression().fit(X, y).score(X, y)`` on all crops), the
definition of the published table, so it is the column compared with it;
``r2_test_<feature>`` is the held-out R² on the test slices (the honest number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtneuro.bench.adapters import (
    pretrain_distributed,  # noqa: F401 - hook of mtneuro.bench.ddp
    volume_task_fields,
)
from mtneuro.bench.suite import Cell


def build_config(cell: Cell) -> Any:
    from mtneuro.tasks.semantic_probe import task3_config

    return task3_config(**volume_task_fields(cell))


def run(config: Any) -> dict[str, Any]:
    from mtneuro.tasks.semantic_probe import run_task3

    result = run_task3(config)
    # Arrays for the scatter plot stay out of metrics.json.
    metrics = {k: v for k, v in result.items() if k not in ("scatter", "source")}
    return {"metrics": metrics, "source": result["source"], "result": result}


def headline(result: dict[str, Any]) -> dict[str, float]:
    metrics = result["metrics"]
    out = {f"r2_{f}": metrics["r2_in_sample_reference"][f]["mean"] for f in metrics["features"]}
    out.update({f"r2_test_{f}": metrics["r2_test"][f]["mean"] for f in metrics["features"]})
    return out


def plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    from mtneuro.report.plots_semantic import plot_task3_scatter

    return [plot_task3_scatter(result["result"], Path(out_dir) / "scatter.png")]
