"""Python API arguments of a wrong type fail naming the argument, the value and what was
expected, before anything runs (they raised bare TypeErrors from deep inside:
``argument of type 'int' is not iterable``, ``expected str, bytes or os.PathLike``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_task import MeanBrightness

import mtneuro
from mtneuro.errors import ConfigError


def test_list_tasks_of_a_non_string_pattern_names_the_pattern() -> None:
    with pytest.raises(ConfigError, match=r"^pattern: expected a task name or wildcard pattern "
                                          r"\(str\), e\.g\. 'task1/\*', got 5 \(int\)$"):
        mtneuro.list_tasks(5)  # type: ignore[arg-type]


NOT_A_MAPPING = r"expected a mapping of names to values, e\.g\. "


@pytest.mark.parametrize(("arguments", "message"), [
    ({"tasks": 5}, (r"^tasks: expected a task name or a sequence of them, e\.g\. "
                    r"\['task1/roi-c1'\] \(mtneuro\.list_tasks\(\)\), got 5 \(int\)$")),
    ({"tasks": ["toy/easy", 5]},
     r"^tasks: expected task names such as 'task1/roi-c1', got 5 \(int\)$"),
    ({"out": 5}, r"^out: expected a folder path \(str or os\.PathLike\) or None, got 5 \(int\)$"),
    ({"params": [1]},
     rf"^params: {NOT_A_MAPPING}\{{'device': 'cuda'\}}, or None, got \[1\] \(list\)$"),
    ({"source_params": [1]},
     rf"^source_params: {NOT_A_MAPPING}\{{'seed': 0\}}, or None, got \[1\] \(list\)$"),
])
def test_evaluate_arguments_of_a_wrong_type_fail_naming_the_argument(
        toy, tmp_path: Path, monkeypatch, arguments: dict, message: str) -> None:
    monkeypatch.chdir(tmp_path)  # out=5 must not leave a folder "5" anywhere
    given = {"tasks": "toy/easy", "out": tmp_path / "o", **arguments}
    with pytest.raises(ConfigError, match=message):
        mtneuro.evaluate(MeanBrightness(), preset="quick", seeds=[0], **given)
    assert list(tmp_path.iterdir()) == [], "refused before any run"


def test_a_path_like_out_and_mapping_params_still_run(toy, tmp_path: Path) -> None:
    results = mtneuro.evaluate(MeanBrightness(), tasks=("toy/easy",), preset="quick", seeds=0,
                               out=str(tmp_path / "o"), params={})
    assert [r.headline for r in results] == [{"accuracy": 1.0}]
    assert (tmp_path / "o" / "cells" / "toy-easy-encoder-s0" / "metrics.json").is_file()
