"""Known answers for what a mutation audit of the session-18 changes found unchecked (each
test fails on a small change of the code it names: a comparison flipped, a condition
dropped, a constant changed)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError, DataError


def test_plus_minus_switches_to_a_power_of_ten_only_beyond_three_more_digits():  # pm3 pm4
    from mtneuro.stats import plus_minus
    assert plus_minus(0.812, 4e-6) == "0.812000 ± 0.000004"
    assert plus_minus(0.812, 4e-7) == "0.812 ± 4e-07"


def test_exactly_one_minus_level_undefined_keeps_its_interval():  # bi1
    from mtneuro.stats import bootstrap_interval

    def half_nan(totals):
        d = np.arange(len(totals), dtype=float)
        return np.where(d < 50, np.nan, d)
    out = bootstrap_interval(half_nan, np.ones(5), unit="x", resamples=100, level=0.5)
    assert np.isfinite(out["low"]) and np.isfinite(out["high"])


def test_the_undefined_fraction_follows_the_level():  # bi6
    from mtneuro.stats import bootstrap_interval

    def tenth_nan(totals):
        d = np.arange(len(totals), dtype=float)
        return np.where(d < 10, np.nan, d)
    out = bootstrap_interval(tenth_nan, np.ones(5), unit="x", resamples=110, level=0.8)
    assert np.isfinite(out["low"])


@pytest.mark.parametrize("err, oom", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (type("OutOfMemoryError", (RuntimeError,), {})("CUDA error"), True),
    (MemoryError(), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("out of memory"), False)])
def test_out_of_memory_is_told_from_other_errors(err, oom):  # mn6-mn9
    from mtneuro.cli.main import _out_of_memory
    assert _out_of_memory(err) is oom


def test_a_union_of_two_list_types_refusing_a_list_names_neither_inside():  # cf1
    from mtneuro.config import _convert
    with pytest.raises(ConfigError, match=r"^k: expected list of int or list of str"):
        _convert(list[int] | tuple[str, ...], [1.5], "k")


def test_a_tuple_given_to_a_str_or_tuple_union_is_refused_for_its_item():  # cf2
    from mtneuro.config import _convert
    with pytest.raises(ConfigError, match=r"^w\[0\]: expected a finite float"):
        _convert(str | tuple[float, ...], (math.nan, 1.0), "w")


def test_a_mapping_of_tasks_is_refused():  # aa9
    from mtneuro.api_arguments import task_name_list
    with pytest.raises(ConfigError, match="^tasks: expected a task name or a sequence"):
        task_name_list({"task1/roi-c1": 1})


class _OneFeature(nn.Module):
    def forward(self, x):
        return x.new_zeros(x.shape[0], 1)


def test_an_encoder_of_one_feature_is_accepted():  # us2
    from mtneuro.models.user import infer_out_dim
    assert infer_out_dim(_OneFeature(), {"in_channels": 1, "size": 16, "spatial_dims": 2}) == 1


def test_float_labels_are_counted_as_their_classes():  # pc7
    from mtneuro.tasks.segmentation.metrics import per_image_confusion
    c = per_image_confusion(torch.tensor([[0.0, 1.0]]), np.array([[0, 1]]), 2)
    assert c.tolist() == [[[1, 0], [0, 1]]]


def test_many_images_are_counted_without_overflow():  # pc8
    from mtneuro.tasks.segmentation.metrics import per_image_confusion
    c = per_image_confusion(np.full((5000, 1), 3), np.full((5000, 1), 3), 4)
    assert c[:, 3, 3].tolist() == [1] * 5000 and c.sum() == 5000


def test_a_roi_id_one_past_the_last_is_refused():  # mr3
    from mtneuro.data.spec import ROI_NAMES
    from mtneuro.data.tiles import majority_region_class
    with pytest.raises(ValueError, match="not a known region id"):
        majority_region_class(np.full((2, 4), max(ROI_NAMES) + 1, dtype=np.uint8))


def test_blank_lines_and_undecodable_bytes(tmp_path):  # rp1 rp4
    from mtneuro.report.predictions import read_predictions
    (tmp_path / "predictions.csv").write_text("seed,true\n0,CTX\n\n1,STR\n")
    assert read_predictions(tmp_path)["seed"].tolist() == [0, 1]
    (tmp_path / "predictions.csv").write_bytes(b"seed,true\n\xff\xfe\x00\x81\n")
    with pytest.raises(DataError, match="not a readable CSV file"):
        read_predictions(tmp_path)


def test_the_line_named_is_the_file_line_after_a_quoted_newline(tmp_path):  # rp5
    from mtneuro.report.predictions import read_predictions
    (tmp_path / "predictions.csv").write_text('seed,true\n0,"a\nb"\n1\n')
    with pytest.raises(DataError, match="line 4 has 1 fields"):
        read_predictions(tmp_path)


def test_parse_range_refuses_minus_one():  # pr3
    from mtneuro.cli.data_cache import parse_range
    with pytest.raises(ConfigError, match="START >= 0"):
        parse_range("z", "-1:10")
    assert parse_range("z", "0:1") == (0, 1)


def _run(folder, task, columns):
    from mtneuro.report.predictions import write_predictions
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps({"task": task, "setting": "s", "method": "m"}))
    write_predictions(columns, folder)
    return folder


@pytest.mark.parametrize("task, columns, needle", [
    ("task2", {"seed": [0], "image": [0]}, "iou_<name>"),                          # cc1
    ("task3", {"seed": [0], "tile": [0], "crop": ["w"], "predicted_a": [0.1]}, "true_a"),  # cc2
    ("task2", {"seed": [0.5], "image": [0], "iou_cell": [0.3]}, "not numbers"),     # cc3
    ("task2", {"seed": [0], "image": [0], "iou_cell": ["x"]}, "iou_cell"),          # cc4
])
def test_compare_refuses_a_damaged_run_of_each_task(tmp_path, task, columns, needle):
    from mtneuro.report.compare import side_of
    with pytest.raises(DataError, match=re.escape(needle)):
        side_of([_run(tmp_path / "r", task, columns)], "A")


def test_a_column_only_one_seed_has_is_left_out(tmp_path):  # cc5
    from mtneuro.report.compare import side_of
    base = {"seed": [0], "image": [0], "iou_cell": [0.3]}
    side = side_of([_run(tmp_path / "a", "task2", {**base, "iou_axon": [0.2]}),
                    _run(tmp_path / "b", "task2", {**base, "seed": [1]})], "A")
    assert "iou_axon" not in side.rows and side.rows["seed"].tolist() == [0, 1]
