"""Known answers for suite validation, cell expansion, the ``params`` keys a cell owns and the
config a cell builds (from a mutation audit of the suite, checks and cell modules)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mtneuro.bench.cell import cell_config, volume_source
from mtneuro.bench.checks import check_cells
from mtneuro.bench.suite import Cell, expand, load_suite, parse_suite
from mtneuro.errors import ConfigError
from mtneuro.tasks import registry
from mtneuro.tasks.registry import get_task

ENTRY = {"task": "tiny", "setting": "a", "methods": ["ok"]}


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "t", "grid": [{**ENTRY, "seeds": []}]},
     "suite: grid[0].seeds: expected at least one seed, none twice, got []"),
    ({"name": "t", "seeds": [], "grid": [ENTRY]},
     "suite: seeds: expected at least one seed, none twice, got []"),
    # a seed twice reruns one run (it was refused as "two grid entries give cell ...")
    ({"name": "t", "grid": [{**ENTRY, "seeds": [0, 0]}]},
     "suite: grid[0].seeds: expected at least one seed, none twice, got [0, 0]"),
    ({"name": "t", "grid": []}, "suite: grid: expected at least one grid entry, got []"),
    ([ENTRY], "suite: expected a mapping at the top level, got list"),
    ({"name": "t", "grid": [ENTRY, {**ENTRY, "tags": "x"}]},
     ("suite: grid[1].tags: unknown key (did you mean 'grid[1].tag'?); expected one of: task, "
      "setting, methods, preset, params, seeds, tag, ddp")),
])
def test_an_empty_or_misshapen_suite_fails_naming_the_key(data: object, message: str) -> None:
    """An empty seed list or grid would run nothing (or fall back to other seeds) silently."""
    with pytest.raises(ConfigError) as info:
        parse_suite(data)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_folder_named_like_a_builtin_suite_does_not_hide_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick").mkdir()  # e.g. an earlier `--out quick`
    assert load_suite("quick").name == "quick"


def test_seeds_keep_their_order_and_naming_the_suites_own_source_keeps_its_params() -> None:
    suite = parse_suite({"name": "t", "source_params": {"seed": 3},
                         "grid": [{**ENTRY, "seeds": [2, 0]}]})
    cells = expand(suite, source="phantom")
    assert [c.id for c in cells] == ["tiny-a-ok-s2", "tiny-a-ok-s0"]
    assert [c.source_params for c in cells] == [{"seed": 3}, {"seed": 3}]


def test_an_encoder_method_listed_in_the_grid_is_not_added_twice() -> None:
    suite = parse_suite({"name": "t", "grid": [{**ENTRY, "methods": ["ok", "encoder"]}]})
    cells = expand(suite, encoder="pkg.mod:build", encoder_tasks=("tiny",))
    assert [(c.id, c.encoder) for c in cells] == [("tiny-a-ok-s0", None),
                                                  ("tiny-a-encoder-s0", "pkg.mod:build")]


def _cell(task: str = "tiny", setting: str = "a", **fields: object) -> Cell:
    values = {"id": f"{task}-{setting}-ok-s0", "task": task, "setting": setting, "method": "ok",
              "seed": 0, "preset": None, "params": {}, "source": "phantom",
              "source_params": {}, **fields}
    return Cell(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("params", "where"), [
    ({"quiet": False}, "the bench (always quiet)"),
    ({"setting": "b"}, "its grid entry's 'setting'"),
])
def test_params_the_bench_or_the_setting_set_are_refused(tiny_task: Path, params: dict,
                                                         where: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_cells([_cell(params=params)])
    (key, value), = params.items()
    assert str(info.value) == (f"cell tiny-a-ok-s0: params.{key}: {value!r} is set by the cell "
                               f"itself, from {where}; remove it from params")


@pytest.fixture
def novolume(tiny_task: Path) -> str:
    """The tiny task, reading no volume."""
    registry.register_task(dataclasses.replace(get_task("tiny"), name="novolume", volume=False,
                                               settings=()), replace=True)
    yield "novolume"
    registry.unregister_task("novolume")


def test_params_a_cell_does_not_set_are_accepted(novolume: str) -> None:
    """``encoder`` without ``--encoder``; ``source`` of a task that reads no volume; any
    setting of a task that lists none."""
    check_cells([_cell(params={"encoder": "enc.pt"}),
                 _cell(task=novolume, setting="anything", params={"source": "mine"})])


def test_a_cell_config_takes_the_params_source_params_over_the_cells(tiny_task: Path) -> None:
    cell = _cell(source_params={"seed": 0, "size": 8}, params={"source_params": {"seed": 5}})
    assert volume_source(cell) == ("phantom", {"seed": 5, "size": 8})
    config = cell_config(get_task("tiny"), dataclasses.replace(cell, source="slice"))
    assert (config.source, config.source_params) == ("slice", {"seed": 5, "size": 8})


def test_a_cell_config_leaves_source_and_encoder_it_does_not_own(novolume: str) -> None:
    """No volume: the task's own source stays; no --encoder: the params' encoder stays."""
    config = cell_config(get_task(novolume), _cell(task=novolume, source="bossdb",
                                                   params={"encoder": "enc.pt"}))
    assert (config.source, config.encoder, config.seeds) == ("phantom", "enc.pt", (0,))


@dataclasses.dataclass(frozen=True)
class QuietConfig:
    method: str = "ok"
    setting: str = "a"
    seeds: tuple[int, ...] = (0,)
    quiet: bool = False


def test_a_cell_config_is_quiet_where_the_task_can_be(tiny_task: Path) -> None:
    task = dataclasses.replace(get_task("tiny"), config=QuietConfig, volume=False)
    assert cell_config(task, _cell(seed=4)) == QuietConfig(seeds=(4,), quiet=True)


def test_a_cell_record_names_the_source_params_it_read(tiny_task: Path, tmp_path: Path) -> None:
    import json

    from mtneuro.bench.runner import RunOptions, run_suite

    suite = parse_suite({"name": "t", "source_params": {"seed": 3}, "grid": [ENTRY]})
    run_suite(expand(suite), RunOptions(tmp_path, quiet=True))
    record = json.loads((tmp_path / "cells/tiny-a-ok-s0/metrics.json").read_text())
    assert record["inputs"] == {"source": "phantom", "params": {"seed": 3}}
    assert record["config"]["source_params"] == {"seed": 3}
