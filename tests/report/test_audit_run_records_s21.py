"""Known answers of :mod:`mtneuro.report.run_records` and :mod:`mtneuro.report.no_report`
that a mutation audit found untested: which records count their seeds, what a run's record
keeps, and the words of the refusals of a folder that has no report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtneuro.errors import DataError
from mtneuro.report.no_report import no_records_message
from mtneuro.report.record import write_result
from mtneuro.report.run_records import cell_record, load_run_record, run_line, seed_headlines
from mtneuro.tasks.api import Result
from mtneuro.tasks.registry import get_task

CLASSES = ["background+axon", "vessel", "cell"]


def _result(task: str, metrics: dict[str, Any]) -> Result:
    """A two-seed task command's result (no bench keys), its headline read as the task does."""
    return Result(task=task, setting="roi-c1", method="pca", metrics=metrics,
                  headline=get_task(task).headline_of(metrics), config={"seeds": [0, 1]},
                  source={"source": "phantom"}, card={})


def _task1(per_seed: list[Any], accuracy: dict[str, Any] | None = None) -> Result:
    return _result("task1", {"accuracy": accuracy or {"mean": 0.5, "std": 0.03, "n": 2},
                             "per_seed": per_seed})


def _task2(scores: list[dict[str, Any]], summary: dict[str, Any]) -> Result:
    metrics = {"setting": {"classes": 3, "dim": "2d", "class_names": CLASSES},
               "summary": summary, "per_seed": [{"seed": s, **row} for s, row in enumerate(scores)]}
    return _result("task2", metrics)


def _mean(value: float | None) -> dict[str, Any]:
    return {"mean": value, "std": None, "n": 2}


def test_seed_headlines_pair_each_seed_with_its_own_headline() -> None:
    result = _task1([{"seed": 3, "accuracy": 0.48}, {"seed": 7, "accuracy": 0.52}])
    assert seed_headlines(result) == [(3, {"accuracy": 0.48}), (7, {"accuracy": 0.52})]


def test_a_failed_cells_record_stays_failed() -> None:
    cell = {"id": "task1-roi-c1-pca-s0", "task": "task1", "setting": "roi-c1", "method": "pca"}
    result = Result(task="task1", setting="roi-c1", method="pca", metrics={}, headline={},
                    config={}, source=None, card={}, record={"cell": cell, "status": "failed"})
    assert cell_record(result)["status"] == "failed"


def test_a_bench_cells_record_is_one_value_whatever_per_seed_it_holds() -> None:
    cell = {"id": "task1-roi-c1-pca-s0", "task": "task1", "setting": "roi-c1", "method": "pca"}
    result = _task1([{"seed": 0, "accuracy": 0.48}, {"seed": 1, "accuracy": 0.52}])
    result.record = {"cell": cell, "status": "complete"}
    assert "seed_headlines" not in cell_record(result)


def test_an_aggregate_number_not_kept_as_mean_std_n_is_not_read_per_seed() -> None:
    # {"mean"} alone is a plain mean: each seed would repeat it, two identical "seeds"
    result = _task1([{"seed": 0, "accuracy": 0.48}, {"seed": 1, "accuracy": 0.52}],
                    accuracy={"mean": 0.5})
    assert seed_headlines(result) is None


def test_a_bool_in_a_seeds_row_is_no_score() -> None:
    assert seed_headlines(_task1([{"seed": 0, "accuracy": True},
                                  {"seed": 1, "accuracy": False}])) is None


def test_a_neural_run_whose_rows_are_no_mappings_counts_as_one_value() -> None:
    result = _result("neural", {"accuracy": 0.6, "f1_weighted": 0.5, "per_seed": [0.5, 0.7]})
    assert "seed_headlines" not in cell_record(result)


def test_a_task2_run_whose_rows_hold_no_scores_counts_as_one_value() -> None:
    summary = {"avg_f1": _mean(0.3), "avg_iou": _mean(0.2),
               "f1": {c: _mean(0.3) for c in CLASSES}, "iou": {c: _mean(0.2) for c in CLASSES}}
    assert seed_headlines(_task2([{}, {}], summary)) is None


def test_a_metric_no_seed_measured_keeps_the_other_metrics_seeds() -> None:
    # the class "cell" never occurs: its F1 / IoU are null in the aggregate and in every seed
    def scores(f1: float) -> dict[str, Any]:
        per_class = {"background+axon": f1, "vessel": f1, "cell": None}
        return {"scores": {"avg_f1": f1, "avg_iou": f1, "f1": per_class, "iou": per_class}}

    per_class = {"background+axon": _mean(0.5), "vessel": _mean(0.5), "cell": _mean(None)}
    summary = {"avg_f1": _mean(0.5), "avg_iou": _mean(0.5), "f1": per_class, "iou": per_class}
    seeds = seed_headlines(_task2([scores(0.4), scores(0.6)], summary))
    assert seeds is not None
    assert [headline["f1_avg"] for _, headline in seeds] == [0.4, 0.6]
    assert seeds[0][1]["f1_cell"] is None


def _run_folder(run: Path, record: Any) -> Path:
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(record))
    return run


def test_a_damaged_run_record_is_refused_with_the_parsers_reason(tmp_path: Path) -> None:
    run = tmp_path / "t1"
    run.mkdir()
    (run / "metrics.json").write_text("{")
    with pytest.raises(DataError, match=r"\(JSONDecodeError: Expecting property name"):
        load_run_record(run)


def test_a_run_record_that_is_no_json_object_is_refused_naming_why(tmp_path: Path) -> None:
    run = _run_folder(tmp_path / "t1", [1, 2])
    with pytest.raises(DataError, match=r"reads \(AttributeError: "):
        load_run_record(run)


def test_a_record_of_a_command_that_is_no_task_nor_pretrain_is_refused_without_a_hint(
        tmp_path: Path) -> None:
    run = _run_folder(tmp_path / "x", {"schema_version": 2, "task": "probe", "config": {}})
    with pytest.raises(DataError) as caught:
        load_run_record(run)
    assert str(caught.value) == (
        f"{run}/metrics.json: the record of a `mtneuro probe` run, which scores no benchmark "
        "task (task1, task2, task3, neural)")


def test_only_the_figure_names_of_seed_folders_are_added(tmp_path: Path) -> None:
    run = tmp_path / "neural"
    write_result(Result(task="neural", setting="chewie-1", method="raw",
                        metrics={"accuracy": 0.6}, headline={"accuracy": 0.6},
                        config={"seeds": [0, 1]}, source=None, card={}), run)
    # a damaged seed record: a number among its names, its names as one string
    _run_folder(run / "seed-0", {"figures": [3, "confusion.png"]})
    _run_folder(run / "seed-1", {"figures": "confusion.png"})
    assert load_run_record(run)["figures"] == ["seed-0/confusion.png"]


def test_a_one_seed_neural_runs_cell_names_its_seed_zero() -> None:
    result = Result(task="neural", setting="chewie-1", method="raw", metrics={},
                    headline={"accuracy": 0.6}, config={"seed": 0, "seeds": None},
                    source=None, card={})
    assert cell_record(result)["cell"]["seed"] == 0


def test_a_one_seed_runs_line_says_nothing_of_seeds() -> None:
    record = {"task": "task1", "config": {"seeds": [4]}}
    assert run_line(record) == "the cell is one `mtneuro task1` run (its metrics.json)"


# --- no_report: why a folder has no report


def test_a_folder_of_many_runs_names_three_then_dots(tmp_path: Path) -> None:
    for name in ("a", "b", "c", "d"):
        _run_folder(tmp_path / name, {})
    assert no_records_message(tmp_path, []) == (
        f"{tmp_path}: no readable cell records (cells/<id>/metrics.json); it holds the folders "
        f"of 4 run(s) (a, b, c, ...): report each, e.g. `mtneuro report {tmp_path / 'a'}`")


def test_a_folder_of_three_runs_names_them_all(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _run_folder(tmp_path / name, {})
    assert "(a, b, c): report each" in no_records_message(tmp_path, [])


def _suite_hint(tmp_path: Path, record: dict[str, Any]) -> str:
    (tmp_path / "metrics.json").write_text(json.dumps(record))
    return no_records_message(tmp_path, [], "PROBLEM")


def test_a_one_seed_run_gives_the_suite_of_its_seed(tmp_path: Path) -> None:
    # `mtneuro neural --seed 0`'s config: its one seed, seed 0, and no list of seeds
    hint = _suite_hint(tmp_path, {"task": "neural", "setting": "chewie-1", "method": "raw",
                                  "config": {"seed": 0, "seeds": None, "source": "phantom"}})
    # a neural cell reads a recording: the volume source is no line of its suite
    assert hint.startswith("PROBLEM; to report it, run its settings as a suite: a YAML file "
                           "holding `name: my-run`, `seeds: [0]`, `grid: [{task: neural, "
                           "setting: chewie-1, methods: [raw]}]` (with")


@pytest.mark.parametrize("config", [{}, {"seeds": []}])
def test_a_run_that_does_not_say_its_seeds_gets_the_general_hint(
        tmp_path: Path, config: Any) -> None:
    hint = _suite_hint(tmp_path, {"task": "task1", "setting": "roi-c1", "method": "pca",
                                  "config": config})
    assert hint.startswith("PROBLEM; a report needs a task command's run")
