"""Each leaderboard table says how its metrics are computed (report walkthrough, session 18:
task 2's pooled F1 and per-image IoU ranked two models in opposite orders with nothing
saying they are averaged differently; δ-accuracy and the angular error's unit were defined
nowhere under the tables)."""

from __future__ import annotations

import html

from mtneuro.report.html import _html_table, _markdown_table
from mtneuro.report.leaderboard import LeaderboardTable
from mtneuro.report.metric_definitions import metric_definitions


def test_task2_says_f1_is_pooled_and_iou_averaged_over_images():
    text = metric_definitions("task2", ["f1_avg", "iou_avg", "f1_cell", "iou_cell"])
    assert text.startswith("F1: pooled over every scored test pixel of a class")
    assert "IoU: per test image (1.0 for a class in neither" in text
    assert "not related by F1 = 2 IoU / (1 + IoU)" in text and "(iou_pooled)" in text
    assert text.count("F1: pooled") == 1  # each definition once, however many columns


def test_neural_defines_delta_accuracy_by_its_angle_and_only_what_the_table_shows():
    # records that do not say their kind: accuracy of every kind
    assert metric_definitions("neural", ["accuracy", "delta_accuracy"]) == (
        "Accuracy: reach, the share of test bins whose decoded angle lies within π/8 (22.5°) "
        "of the target's; sleep, the share of test bins given their state; a user's classes, "
        "the share of test bins given their class; δ-Accuracy: within 3π/16 (33.75°).")
    assert metric_definitions("neural", ["f1_weighted"]).startswith("Weighted F1: each class")
    assert metric_definitions("neural", ["f1_macro"]).startswith("Macro F1: the mean of each")
    assert metric_definitions("task9", ["accuracy"]) == ""


def test_task3_tells_held_out_from_in_sample_whatever_the_order():
    text = metric_definitions("task3", ["r2_vessel_fraction", "r2_test_vessel_fraction"])
    assert text.index("R² (in-sample): fitted and scored on the same crops") < text.index(
        "R² (held-out): a linear readout fitted on the training crops")


def test_both_reports_print_the_definitions_under_the_table():
    table = LeaderboardTable(task="task2", setting="2d-4class", metrics=["f1_avg", "iou_avg"],
                             rows=[])
    expected = metric_definitions("task2", table.metrics)
    assert f"\n{expected}\n" in _markdown_table(table)
    assert f"<p class=note>{html.escape(expected)}</p>" in _html_table(table)


def test_compare_of_task2_says_which_iou_it_compares_and_that_f1_is_not(tmp_path):
    import json

    import numpy as np
    from click.testing import CliRunner

    from mtneuro.cli.compare import compare
    from mtneuro.report.predictions import write_predictions

    for name, iou in (("a", [1.0, 0.5, 0.8, 0.9, 0.7]), ("b", [0.0, 0.5, 0.6, 0.9, 0.7])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(
            {"task": "task2", "setting": "2d-4class", "method": name, "metrics": {},
             "source": {"source": "phantom", "label": "phantom (synthetic volume)"}}))
        write_predictions({"seed": [0] * 5, "image": np.arange(5), "iou_cell": iou}, folder)
    out = CliRunner().invoke(compare, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert "+0.240" in out.output  # mean IoU 0.78 against 0.54
    assert out.output.rstrip().endswith("the table's pooled F1 is not compared: these runs' "
                                        "predictions.csv lack the pixel counts (runs made "
                                        "before they were recorded)")


def _neural_record(cell: str, kind: str) -> dict:
    return {"cell": {"id": f"{cell}-s0", "task": "neural", "setting": "mine", "method": "raw"},
            "status": "complete", "metrics": {"kind": kind, "accuracy": 0.5, "f1_macro": 0.4},
            "headline": {"accuracy": 0.5, "f1_macro": 0.4}, "seed": 0,
            "source": {"source": "mine", "label": "recording mine (your file)",
                       "catalogued": False}, "_dir": f"cells/{cell}-s0"}


def test_a_classes_table_defines_accuracy_by_classes_and_macro_f1_by_present_classes():
    from mtneuro.report.leaderboard import build_tables

    [table] = build_tables([_neural_record("a", "classes")])
    assert table.kinds == ["classes"]
    text = metric_definitions(table.task, table.metrics, table.kinds)
    assert text == ("Accuracy: the share of test bins given their class; Macro F1: the mean "
                    "of each class's F1, every class counting alike (a class in neither the "
                    "truth nor the predictions is left out, as scikit-learn does).")
    assert f"\n{text}\n" in _markdown_table(table) and "angle" not in _markdown_table(table)
    assert f"<p class=note>{html.escape(text)}</p>" in _html_table(table)
    # a table of several kinds names each kind it holds, and no other
    both = metric_definitions("neural", ["accuracy"], ["sleep", "classes"])
    assert both == ("Accuracy: sleep, the share of test bins given their state; a user's "
                    "classes, the share of test bins given their class.")
    assert metric_definitions("neural", ["accuracy"], ["reach"]).startswith(
        "Accuracy: the share of test bins whose decoded angle lies within π/8")
