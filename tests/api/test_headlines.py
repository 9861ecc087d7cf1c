"""Each task's headline (what the leaderboard and bench tables show) reads the fields it names.

The metrics below carry a distinct value in every field, so a headline that reads a
neighbouring field (F1 for IoU, in-sample R² for held-out R²) shows the wrong number here.
"""

from __future__ import annotations

from mtneuro.tasks.neural.task import headline as neural_headline
from mtneuro.tasks.region_task import headline as region_headline
from mtneuro.tasks.segmentation.task import headline as segmentation_headline
from mtneuro.tasks.semantic_task import headline as semantic_headline


def _mean(value: float) -> dict[str, float]:
    return {"mean": value, "std": value / 10}


def test_task1_headline_is_mean_accuracy():
    metrics = {"accuracy": _mean(0.61), "balanced_accuracy": _mean(0.52)}
    assert region_headline(metrics) == {"accuracy": 0.61}


def test_task2_headline_takes_f1_and_iou_from_their_own_fields():
    summary = {"avg_f1": _mean(0.71), "avg_iou": _mean(0.55),
               "f1": {"background": _mean(0.91), "vessel": _mean(0.42)},
               "iou": {"background": _mean(0.83), "vessel": _mean(0.27)}}
    metrics = {"summary": summary, "setting": {"class_names": ["background", "vessel"]}}
    assert segmentation_headline(metrics) == {
        "f1_avg": 0.71, "iou_avg": 0.55, "f1_background": 0.91, "f1_vessel": 0.42,
        "iou_background": 0.83, "iou_vessel": 0.27}


def test_task3_headline_keeps_in_sample_and_held_out_r2_apart():
    metrics = {"features": ["cell_count", "vessel_fraction"],
               "r2_in_sample_reference": {"cell_count": _mean(0.9), "vessel_fraction": _mean(0.8)},
               "r2_test": {"cell_count": _mean(0.3), "vessel_fraction": _mean(-0.2)}}
    assert semantic_headline(metrics) == {
        "r2_cell_count": 0.9, "r2_vessel_fraction": 0.8,
        "r2_test_cell_count": 0.3, "r2_test_vessel_fraction": -0.2}


def test_neural_headline_follows_the_recording_kind():
    reach = {"kind": "reach", "accuracy": 0.7, "delta_accuracy": 0.85, "f1_weighted": 0.1}
    sleep = {"kind": "sleep", "accuracy": 0.9, "delta_accuracy": 0.2, "f1_weighted": 0.88}
    assert neural_headline(reach) == {"accuracy": 0.7, "delta_accuracy": 0.85}
    assert neural_headline(sleep) == {"accuracy": 0.9, "f1_weighted": 0.88}
