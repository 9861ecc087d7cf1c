"""Wrong or shorthand inputs of the Python API: one int as ``seeds``, a ``load_results`` path
holding no results, a task name given to ``list_tasks`` without a wildcard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from toy_task import MeanBrightness

import mtneuro
from mtneuro.api import NoResultsError
from mtneuro.errors import ConfigError

TASK2 = ["task2/2d-3class", "task2/2d-4class", "task2/3d-3class", "task2/3d-4class"]
NOT_SEEDS = "seeds: expected an int or a sequence of ints in [0, 2**32), e.g. [0, 1, 2], got "
EXPECTED = ("a run folder holding metrics.json (mtneuro task1 ... --out), a folder of "
            "cells/<id>/metrics.json (mtneuro.evaluate out=..., mtneuro bench --out) or a "
            "metrics.json file")




@pytest.mark.parametrize("seed", [0, 3])
def test_one_int_seed_is_that_seed_alone(toy, tmp_path: Path, seed: int) -> None:
    """As ``--seeds 3`` on the command line: one run, of that seed (was a TypeError)."""
    results = mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", preset="quick", seeds=seed,
                               out=tmp_path)
    assert [r.config["seeds"] for r in results] == [[seed]]
    assert [p.name for p in (tmp_path / "cells").iterdir()] == [f"toy-easy-encoder-s{seed}"]


@pytest.mark.parametrize(("seeds", "message"), [
    ("0", f"{NOT_SEEDS}'0' (str)"),
    (1.5, f"{NOT_SEEDS}1.5 (float)"),
    (None, f"{NOT_SEEDS}None (NoneType)"),
    (True, f"{NOT_SEEDS}True (bool)"),
    ({0: 1}, f"{NOT_SEEDS}{{0: 1}} (dict)"),
    ([], "seeds: expected at least one seed, got an empty sequence"),
    (-1, "seeds: expected integers in [0, 2**32), got -1"),
    ([0, "1"], "seeds: expected integers in [0, 2**32), got '1'"),
])
def test_seeds_of_a_wrong_type_fail_naming_seeds(toy, tmp_path: Path, seeds: object,
                                                  message: str) -> None:
    with pytest.raises(ConfigError) as info:
        mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", preset="quick",
                         seeds=seeds, out=tmp_path)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert not (tmp_path / "cells").exists(), "refused before any run"


def test_a_missing_path_names_it_and_what_was_expected(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NoResultsError) as info:
        mtneuro.load_results(missing)
    assert str(info.value) == (f"load_results: {missing}: no such file or folder; "
                               f"expected {EXPECTED}")
    # still what the bare error was, and the package's one-line error
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ConfigError)


def test_a_folder_without_results_names_what_it_lacks(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        mtneuro.load_results(tmp_path)
    assert str(info.value) == (f"load_results: {tmp_path}: a folder with neither cells/ nor "
                               f"metrics.json; expected {EXPECTED}")
    with pytest.raises(NoResultsError, match="no such file or folder"):
        mtneuro.load_results(tmp_path / "metrics.json")


def test_a_run_folder_and_its_metrics_file_still_load(toy, tmp_path: Path) -> None:
    mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", preset="quick", seeds=[0],
                     out=tmp_path)
    run = tmp_path / "cells" / "toy-easy-encoder-s0"
    assert json.loads((run / "metrics.json").read_text())["method"] == "encoder"
    for path in (run, run / "metrics.json", tmp_path):
        assert [r.headline for r in mtneuro.load_results(path)] == [{"accuracy": 1.0}]


@pytest.mark.parametrize(("pattern", "names"), [
    ("task2", TASK2),                            # a task name: all its settings (was [])
    ("task2/*", TASK2),                          # the documented wildcard, unchanged
    ("task2/2d-4class", ["task2/2d-4class"]),    # a task/setting name: that one
    ("neural/chewie-1", ["neural/chewie-1"]),    # not also chewie-1-vel0 and chewie-1-bin0.05
    ("task[23]/3d-4class", ["task2/3d-4class"]),  # wildcards: fnmatch, as before
    ("task?", []),
    ("zz*", []),                                 # a pattern may match nothing
])
def test_a_pattern_without_wildcards_is_a_task_or_setting_name(pattern: str,
                                                                names: list[str]) -> None:
    assert mtneuro.list_tasks(pattern) == names


@pytest.mark.parametrize(("name", "closest"), [
    ("tsak1", "did you mean 'task1'"), ("task", "did you mean"), ("task4", "did you mean"),
    ("task2/2d", "did you mean .*'task2/2d-4class'")])
def test_a_name_that_is_no_task_or_setting_is_an_error_not_an_empty_list(
        name: str, closest: str) -> None:
    # a prefix is no name either; [] for a typo read as "there is no such task"
    with pytest.raises(ConfigError, match=rf"^unknown task or task/setting {name!r} .*{closest}"):
        mtneuro.list_tasks(name)


def test_a_registered_task_is_listed_by_its_name(toy) -> None:
    assert mtneuro.list_tasks("toy") == ["toy/easy", "toy/hard"]


def test_a_repeated_seed_or_task_is_refused_not_counted_twice(toy, tmp_path: Path) -> None:
    # one cell each: a repeat ran again and was counted as another seed
    with pytest.raises(ConfigError, match=r"^seeds: expected distinct seeds, got \[0, 0\]$"):
        mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", seeds=[0, 0], out=tmp_path / "o")
    with pytest.raises(ConfigError, match=r"^tasks: toy/easy given more than once$"):
        mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy", "toy/easy"], out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_every_tasks_config_is_checked_before_any_runs(toy, tmp_path: Path) -> None:
    # a key toy takes and the neural task does not: toy's cell was recorded, then the
    # neural config failed, and a retry with the fix was refused (the cell existed)
    # (params go to every task: the message names the one whose config refused)
    with pytest.raises(ConfigError, match=r"^neural/chewie-1: n: unknown key"):
        mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy", "neural/chewie-1"],
                         params={"n": 40}, out=tmp_path / "o")
    assert not (tmp_path / "o").exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"^out .*afile: is a file; expected a folder$"):
        mtneuro.evaluate(MeanBrightness(), tasks="toy/easy", out=tmp_path / "afile")


def test_load_results_of_no_complete_cell_or_no_record_is_no_results(tmp_path: Path) -> None:
    (tmp_path / "run" / "cells").mkdir(parents=True)
    with pytest.raises(NoResultsError, match=r"cells holds no complete cell record"):
        mtneuro.load_results(tmp_path / "run")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp_path / "notes.json").write_text("not json")
    for path in (tmp_path / "figure.png", tmp_path / "notes.json"):
        with pytest.raises(NoResultsError, match=r"is not a metrics.json mtneuro wrote"):
            mtneuro.load_results(path)


def test_a_neural_evaluation_leaves_the_callers_model_in_its_mode() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(174, 8), torch.nn.Dropout(0.1))
    model.train()
    mtneuro.evaluate(model, tasks="neural/chewie-1")
    assert model.training  # training in the notebook goes on with dropout on


def test_the_lazy_public_names_are_listed_by_dir() -> None:
    # a notebook's tab completion and help() read dir(): the API must be offered before use
    assert {"evaluate", "list_tasks", "load_results", "Results", "NoResultsError"} <= set(
        dir(mtneuro))


def test_dir_lists_no_implementation_names() -> None:
    # `version` (importlib.metadata's function) read as the package's version in a notebook
    helpers = {"PackageNotFoundError", "_API", "lazy_dir", "lazy_exports", "version"}
    assert not helpers & set(dir(mtneuro)) and not any(hasattr(mtneuro, n) for n in helpers)
    assert isinstance(mtneuro.__version__, str) and mtneuro.evaluate.__name__ == "evaluate"


def test_a_misspelt_source_is_refused_before_any_cell_runs(toy, tmp_path: Path) -> None:
    # task1 opened the source only when it ran: toy's cell ran and was recorded first
    with pytest.raises(ConfigError, match=r"^unknown source 'phantm'"):
        mtneuro.evaluate(MeanBrightness(), tasks=["toy/easy", "task1/roi-c1"],
                         source="phantm", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()
