"""Known answers for a cell's torchrun checks and card line (mutation audit mut18 of
``bench/ddp.py``: :func:`check_cell_ddp`, :func:`ddp_deviations`, a failed cell's card)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtneuro.bench import ddp
from mtneuro.bench.cell import cell_config, run_cell
from mtneuro.bench.ddp import check_cell_ddp, ddp_deviations
from mtneuro.bench.suite import Cell
from mtneuro.errors import ConfigError, TrainingError
from mtneuro.tasks.registry import get_task

DEVIATION = ("pre-training data-parallel on 2 processes (reference: one process, "
             "scripts/task1_ssl.py)")


def _cell(method: str, procs: int) -> Cell:
    return Cell(f"task1-roi-c1-{method}-s0", "task1", "roi-c1", method, 0, "quick", {},
                "phantom", {}, ddp_procs=procs)


def test_a_task_without_pretrain_methods_is_named_as_such(tiny_task: Path) -> None:
    cell = Cell("tiny-a-ok-s0", "tiny", "a", "ok", 0, None, {}, "phantom", {}, ddp_procs=2)
    task = get_task("tiny")
    assert not task.pretrain_methods
    with pytest.raises(ConfigError) as info:
        check_cell_ddp(task, cell_config(task, cell), cell)
    assert str(info.value) == ("cell tiny-a-ok-s0: ddp: task 'tiny' cannot pre-train under "
                               "torchrun (it declares no pretrain_methods)")


@pytest.mark.parametrize(("method", "procs", "expected"), [
    ("byol", 2, [DEVIATION]),
    ("byol", 1, []),  # one process is the reference
    ("pca", 2, []),  # pre-trains nothing, whatever the count
])
def test_the_card_line_is_for_a_cell_that_pretrains_on_several_processes(
        method: str, procs: int, expected: list[str]) -> None:
    cell = _cell(method, procs)
    config = cell_config(get_task("task1"), cell)
    assert (config.pretrain is None) == (method == "pca")
    assert ddp_deviations(cell, config) == expected


def test_a_failed_torchrun_cell_keeps_the_card_line_once(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def failed(config: object, nproc: int, out: Path, threads: int | None = None) -> Path:
        raise TrainingError("the processes failed")

    monkeypatch.setattr(ddp, "launch_pretrain", failed)
    cell = _cell("byol", 2)
    outcome = run_cell(cell, get_task("task1"), tmp_path)
    assert outcome["status"] == "failed"
    record = json.loads((tmp_path / "cells" / cell.id / "metrics.json").read_text())
    assert record["error"]["message"] == "the processes failed"
    assert record["deviations"].count(DEVIATION) == 1


def test_a_torchrun_cell_keeps_the_lines_only_its_run_could_know(
        tiny_task: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the torchrun launch itself is test_ddp's; here only what the record keeps after it
    monkeypatch.setattr(ddp, "pretrain_under_torchrun",
                        lambda task, config, cell, directory, threads=None:
                        (config, {"nproc_per_node": 2}))
    cell = Cell("tinyssl-a-noted-s0", "tinyssl", "a", "noted", 0, None, {}, "phantom", {},
                ddp_procs=2)
    outcome = run_cell(cell, get_task("tinyssl"), tmp_path)
    assert outcome["status"] == "complete"
    record = json.loads((tmp_path / "cells" / cell.id / "metrics.json").read_text())
    assert record["config"]["ddp"] == {"nproc_per_node": 2}
    assert record["deviations"].count("run-only deviation") == 1
    assert record["notes"].count("run-only note") == 1
    # the config's own lines once each, not once from the cell's card and once from the run's
    assert len(record["notes"]) == len(set(record["notes"]))
    assert len(record["deviations"]) == len(set(record["deviations"]))
