"""A suite file's wrong task, setting, method or ``params`` key is named with the file and
its grid entry (``s.yaml: grid[1].task: ...``) when the file is loaded, as its other keys
are, not with the id of the first cell it breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.bench.suite import load_suite, parse_suite
from mtneuro.cli.main import main
from mtneuro.errors import ConfigError

GOOD = """
name: mine
seeds: [0]
grid:
  - task: neural
    setting: chewie-1
    methods: [raw]
  - task: neural
    setting: chewie-1
    methods: [raw, pca]
    tag: second
    params: {steps: 10}
"""
TASKS = "task1, task2, task3, neural"
NEURAL_METHODS = "'myow', 'byol', 'supervised', 'pca', 'raw', 'encoder'"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def _load_error(path: Path) -> str:
    """The one-line error of loading the suite file at ``path``."""
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    return str(info.value)


def test_the_good_suite_loads(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, GOOD))
    assert [(e.task, e.setting, e.params) for e in suite.grid] == [
        ("neural", "chewie-1", {}), ("neural", "chewie-1", {"steps": 10})]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  - task: neural\n    setting: chewie-1\n    methods: [raw, pca]",
     "  - task: task4\n    setting: chewie-1\n    methods: [raw, pca]",
     (f"grid[1].task: unknown task 'task4' (did you mean 'task3', 'task2', 'task1'?); "
      f"valid: {TASKS}")),
    ("setting: chewie-1\n    methods: [raw]\n", "setting: chewie1\n    methods: [raw]\n",
     ("grid[0].setting: unknown neural setting 'chewie1' (did you mean 'chewie-1', 'chewie-2', "
      "'chewie-1-vel0'?); valid: chewie-1, chewie-1-bin0.05, chewie-1-vel0, chewie-2, mihi-1, "
      "mouse-ca1, rat-v1; or the path of a recording file of yours (a reach or classes .npz, "
      "a rodent .npy pair)")),
    ("methods: [raw, pca]", "methods: [raw, rawr]",
     f"grid[1].methods: expected one of {NEURAL_METHODS}, got 'rawr' (did you mean 'raw'?)"),
    ("params: {steps: 10}", "params: {steps: ten}",
     "grid[1].params.steps: expected int or null, got 'ten'"),
    ("params: {steps: 10}", "params: {split: block}",  # a dry run passed it; the run failed
     "grid[1].params.split: expected one of trial, kfold for a reach recording, got 'block'"),
])
def test_a_wrong_task_setting_method_or_param_names_file_and_entry(
        tmp_path: Path, old: str, new: str, message: str) -> None:
    assert GOOD.count(old) == 1
    path = _write(tmp_path, GOOD.replace(old, new))
    assert _load_error(path) == f"{path}: {message}"


def test_an_unknown_params_key_is_named_under_its_entry_with_the_close_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("params: {steps: 10}", "params: {stepz: 10}"))
    head, _, valid = _load_error(path).partition("; expected one of: ")
    assert head == (f"{path}: grid[1].params.stepz: unknown key "
                    "(did you mean 'grid[1].params.steps'?)")
    assert valid.split(", ")[:3] == ["data", "data_root", "method"] and "\n" not in valid


def test_a_nested_params_key_is_named_with_its_whole_path(tmp_path: Path) -> None:
    text = ("name: t\ngrid:\n  - task: task2\n    setting: 2d-4class\n    methods: [unet]\n"
            "    params: {train: {epochz: 2}}\n")
    path = _write(tmp_path, text)
    assert _load_error(path).startswith(
        f"{path}: grid[0].params.train.epochz: unknown key "
        "(did you mean 'grid[0].params.train.epochs'?); expected one of: epochs, ")


def test_an_encoder_param_is_checked_as_a_param(tmp_path: Path) -> None:
    """Only an encoder cell (``--encoder``, added later) sets its own encoder: the other
    cells read the one in params, so a wrong one is a params error."""
    text = ("name: t\ngrid:\n  - task: task1\n    setting: roi-c1\n    methods: [pca]\n"
            "    params: {encoder: 5}\n")
    path = _write(tmp_path, text)
    assert _load_error(path) == f"{path}: grid[0].params.encoder: expected str or null, got 5"


def test_a_source_param_of_a_task_that_reads_no_volume_is_a_params_error(tmp_path: Path) -> None:
    """Only a volume task's cells set their source themselves; a neural config has none."""
    path = _write(tmp_path, GOOD.replace("params: {steps: 10}", "params: {source: slice}"))
    assert _load_error(path).startswith(f"{path}: grid[1].params.source: unknown key")


def test_params_a_cell_sets_itself_are_left_to_the_cell_check(tmp_path: Path) -> None:
    """The cell's own method and seed replace these; the bench refuses them naming the cell
    (mtneuro.bench.checks), so loading is not where they fail."""
    path = _write(tmp_path, GOOD.replace("params: {steps: 10}",
                                         "params: {method: rawr, seed: 3}"))
    assert load_suite(path).grid[1].params == {"method": "rawr", "seed": 3}


def test_a_mapping_is_parsed_without_the_task_registry() -> None:
    """Only a suite file is checked against the tasks: a mapping may name a task a test or
    plugin registers later."""
    suite = parse_suite({"name": "t", "grid": [{"task": "later", "setting": "x",
                                                "methods": ["m"]}]})
    assert suite.grid[0].task == "later"


@pytest.mark.parametrize(("old", "new", "located"), [
    ("task: neural\n    setting: chewie-1\n    methods: [raw]\n",
     "task: task4\n    setting: chewie-1\n    methods: [raw]\n",
     "grid[0].task: unknown task 'task4'"),
    ("params: {steps: 10}", "params: {stepz: 10}",
     "grid[1].params.stepz: unknown key (did you mean 'grid[1].params.steps'?)"),
])
def test_the_bench_command_names_the_file_and_entry_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
        located: str) -> None:
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(SystemExit) as info:
        main(["bench", "--suite", str(path), "--dry-run", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {path}: {located}")
    assert not (tmp_path / "o").exists()


def test_an_error_of_no_params_key_is_not_put_under_params(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong preset is named as the entry's ``preset`` (with the file), never
    ``grid[1].params``."""
    path = _write(tmp_path, GOOD.replace("tag: second", "tag: second\n    preset: quik"))
    with pytest.raises(SystemExit):
        main(["bench", "--suite", str(path), "--dry-run", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "s.yaml: grid[1].preset: unknown neural preset 'quik' (did you mean 'quick'?)" in err
    assert ".params" not in err
