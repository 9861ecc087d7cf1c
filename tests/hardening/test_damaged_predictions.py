"""``mtneuro compare A B`` on a damaged ``predictions.csv`` (a wrong header, a file cut
short, words in a number column): one line naming the file and what is wrong, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_probe import assert_one_line_error, invoke

from mtneuro.errors import DataError
from mtneuro.report.predictions import PREDICTIONS_FILE, read_predictions, write_predictions


def _task1_run(folder: Path, method: str, n: int = 10) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"task": "task1", "setting": "roi-c1", "method": method,
         "source": {"source": "phantom"}, "metrics": {}}))
    true = np.asarray(["CTX", "STR"] * (n // 2))
    write_predictions({"seed": [0] * n, "tile": np.arange(n), "z": np.arange(n),
                       "crop": ["whole"] * n, "true": true, "predicted": true}, folder)
    return folder / PREDICTIONS_FILE


def _compare_with_damaged_b(tmp_path: Path, damage) -> tuple[Path, object]:
    _task1_run(tmp_path / "a", "a")
    damaged = _task1_run(tmp_path / "b", "b")
    damaged.write_text(damage(damaged.read_text()))
    return damaged, invoke(["compare", str(tmp_path / "a"), str(tmp_path / "b")], tmp_path)


def test_compare_names_the_file_and_the_columns_a_wrong_header_lacks(tmp_path):
    damaged, outcome = _compare_with_damaged_b(
        tmp_path, lambda text: text.replace("seed,tile,z,crop", "seed,tiles,z,kind", 1))
    assert_one_line_error(outcome, str(damaged), "missing column(s) tile, crop")


def test_compare_names_the_line_of_a_row_cut_short(tmp_path):
    damaged, outcome = _compare_with_damaged_b(tmp_path, lambda text: text[:-10])
    assert_one_line_error(outcome, str(damaged), "line 11 has 4 fields, expected 6")


def test_compare_refuses_words_in_the_seed_column(tmp_path):
    damaged, outcome = _compare_with_damaged_b(
        tmp_path, lambda text: text.replace("\n0,3,", "\nzero,3,", 1))
    assert_one_line_error(outcome, str(damaged), "seed", "not numbers")


@pytest.mark.parametrize("text, needle", [("", "empty, expected a header row"),
                                          ("seed,true\n0,CTX,CTX\n", "line 2 has 3 fields"),
                                          ("seed,true\n0\n1,STR\n", "line 2 has 1 fields")])
def test_read_predictions_refuses_a_damaged_file_naming_it(tmp_path, text, needle):
    (tmp_path / PREDICTIONS_FILE).write_text(text)
    with pytest.raises(DataError, match=needle) as caught:
        read_predictions(tmp_path)
    assert str(tmp_path / PREDICTIONS_FILE) in str(caught.value)
