"""Cells of tasks that still run through a bench adapter module (neural decoding, until
issue 16b moves it into the task contract and removes this module).

An adapter defines ``build_config(cell)``, ``run(config) -> {"metrics", "source", ...}``,
``headline(result)`` and ``plots(result, out_dir)``; the record has the same keys as a
cell of the contract (:mod:`mtneuro.bench.cell`).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from mtneuro.config import to_dict


def run_legacy_cell(cell: Any, adapter: str, directory: Path, started: float) -> dict[str, Any]:
    """Run ``cell`` through the adapter module ``adapter``; never raises for a task error."""
    from mtneuro.bench.cell import CellSkipped, bench_keys, record_failure, record_skipped
    from mtneuro.report.results import write_metrics
    from mtneuro.tasks.protocol import protocol_card

    config_dict: dict[str, Any] = {}
    card: dict[str, Any] | None = None
    out_dir = directory.parents[1]
    try:
        module = importlib.import_module(adapter)
        config = module.build_config(cell)
        config_dict, card = to_dict(config), protocol_card(config)
        result = module.run(config)
        headline = {k: (None if v is None else float(v)) for k, v in module.headline(result).items()}
        figures = [Path(p).resolve().relative_to(directory.resolve()).as_posix()
                   for p in module.plots(result, directory)]
        card = protocol_card(config, result.get("source"))
    except KeyboardInterrupt:
        raise
    except CellSkipped as skip:
        return record_skipped(out_dir, cell, str(skip), config_dict)
    except Exception as exc:  # noqa: BLE001 - recorded, the suite goes on
        return record_failure(out_dir, cell, exc, wall_s=time.perf_counter() - started,
                              config=config_dict, card=card)
    wall_s = time.perf_counter() - started
    write_metrics(directory, task=cell.task, metrics=result["metrics"], config=config_dict,
                  source=result.get("source"), wall_s=wall_s,
                  extra={**card, "setting": cell.setting, "method": cell.method,
                         **bench_keys(cell, "complete", headline=headline, figures=figures)})
    return {"id": cell.id, "status": "complete", "wall_s": wall_s, "headline": headline,
            "error": None}
