"""``mtneuro compare`` on task 2 compares the leaderboard's pooled F1 too (report walkthrough,
session 18: it compared only the per-image IoU, which ranked two models the other way round),
from each image's pixel counts in ``predictions.csv``; checked on counts whose F1 is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtneuro.report.compare import compare_runs
from mtneuro.report.predictions import write_predictions
from mtneuro.tasks.segmentation.metrics import segmentation_scores

CLASSES = ("background", "cell")


def _run(folder, confusions_by_seed):
    """A task-2 run: per seed, one (2, 2) pixel confusion per image (rows = truth)."""
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(
        {"task": "task2", "setting": "2d-3class", "method": folder.name, "metrics": {},
         "source": {"source": "phantom", "label": "phantom (synthetic volume)"}}))
    columns: dict[str, list] = {"seed": [], "image": [], "iou_background": [], "iou_cell": []}
    columns |= {f"pixels_{t}_as_{p}": [] for t in CLASSES for p in CLASSES}
    for seed, confusions in enumerate(confusions_by_seed):
        for image, cm in enumerate(confusions):
            columns["seed"].append(seed)
            columns["image"].append(image)
            for j, name in enumerate(CLASSES):  # per-image IoU, as the task writes it
                union = cm[j].sum() + cm[:, j].sum() - cm[j, j]
                columns[f"iou_{name}"].append(cm[j, j] / union if union else 1.0)
            for i, t in enumerate(CLASSES):
                for j, p in enumerate(CLASSES):
                    columns[f"pixels_{t}_as_{p}"].append(int(cm[i, j]))
    write_predictions(columns, folder)
    return folder


def _images(rng, n=8, error=0.1):
    """``n`` images of 100 pixels, a fifth of them cells, ``error`` of each class missed."""
    out = []
    for _ in range(n):
        cells = rng.integers(10, 30)
        missed_cells = int(cells * error)
        missed_background = int((100 - cells) * error)
        out.append(np.array([[100 - cells - missed_background, missed_background],
                             [missed_cells, cells - missed_cells]]))
    return out


def test_the_pooled_f1_of_each_side_is_the_leaderboards_and_its_difference_is_shown(tmp_path):
    rng = np.random.default_rng(0)
    good = [_images(rng, error=0.05), _images(rng, error=0.05)]  # two seeds
    poor = [_images(rng, error=0.3)]
    result = compare_runs(_run(tmp_path / "good", good), _run(tmp_path / "poor", poor))
    rows = {r["metric"]: r for r in result.rows}
    for side, seeds in (("a", good), ("b", poor)):
        per_seed = [segmentation_scores(np.sum(s, axis=0), CLASSES) for s in seeds]
        for name in CLASSES:  # the mean over seeds of each seed's pooled F1
            assert rows[f"f1_{name}"][side] == pytest.approx(
                np.mean([s["f1"][name] for s in per_seed]))
        assert rows["avg_f1"][side] == pytest.approx(np.mean([s["avg_f1"] for s in per_seed]))
    assert rows["f1_cell"]["low"] > 0  # 5% of pixels missed against 30%: A higher
    assert {"iou_cell", "avg_iou"} <= set(rows)  # the per-image IoU is still compared


def test_runs_without_pixel_counts_compare_their_iou_only(tmp_path):
    rng = np.random.default_rng(1)
    a, b = _run(tmp_path / "a", [_images(rng)]), _run(tmp_path / "b", [_images(rng)])
    for folder in (a, b):  # as a run written before the counts were
        text = (folder / "predictions.csv").read_text().splitlines()
        keep = [i for i, c in enumerate(text[0].split(",")) if not c.startswith("pixels_")]
        (folder / "predictions.csv").write_text("\n".join(
            ",".join(line.split(",")[i] for i in keep) for line in text) + "\n")
    assert [r["metric"] for r in compare_runs(a, b).rows] == [
        "iou_background", "iou_cell", "avg_iou"]


def test_a_task2_image_row_holds_its_pixel_counts():
    pytest.importorskip("segmentation_models_pytorch", reason="needs mtneuro[seg]")
    from mtneuro.tasks.segmentation.run import image_rows

    masks = np.array([[[0, 1], [1, 1]], [[0, 0], [0, 1]]])
    predictions = np.array([[[0, 1], [0, 1]], [[1, 0], [0, 1]]])
    rows = image_rows(0, predictions, masks, None, np.array([5, 6]), np.array([0, 1]),
                      CLASSES)
    assert rows["pixels_cell_as_background"].tolist() == [1, 0]
    assert rows["pixels_background_as_cell"].tolist() == [0, 1]
    assert rows["pixels_cell_as_cell"].tolist() == [2, 1]
