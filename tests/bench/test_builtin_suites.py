"""The shipped suites name only real tasks, and every cell builds a valid task config."""

from __future__ import annotations

import pytest

from mtneuro.bench.cell import cell_config
from mtneuro.bench.runner import check_cells
from mtneuro.bench.suite import builtin_suites, expand, load_suite
from mtneuro.tasks.registry import TASKS, get_task

REAL_TASKS = {"task1", "task2", "task3", "neural"}


@pytest.mark.extra("seg")  # task-2 cells build their config from the segmentation task
@pytest.mark.parametrize("name", ["quick", "paper"])
def test_builtin_suite_cells_build_real_task_configs(name):
    cells = expand(load_suite(name))
    check_cells(cells)
    for cell in cells:
        assert cell.task in REAL_TASKS
        config = cell_config(get_task(cell.task), cell)
        assert type(config).__module__.startswith("mtneuro.tasks."), cell.id


def test_quick_suite_covers_every_task():
    assert {c.task for c in expand(load_suite("quick"))} == REAL_TASKS == set(TASKS)


def test_paper_suite_reads_the_real_volume():
    assert load_suite("paper").source == "bossdb"
    assert set(builtin_suites()) >= {"quick", "paper"}


def test_a_folder_named_like_a_suite_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick").mkdir()  # e.g. an earlier `bench --suite quick --out quick`
    assert load_suite("quick").name == "quick"
    (tmp_path / "mine").write_text(
        "name: mine\ngrid:\n  - {task: neural, setting: chewie-1, methods: [raw]}\n")
    assert load_suite("mine").name == "mine"  # a file without a suffix is still a suite file
