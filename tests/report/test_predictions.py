"""``predictions.csv``: each run's per-sample truth and prediction, whose summaries are the
run's own scores (accuracy, delta-accuracy, R²), written beside ``metrics.json``."""

from __future__ import annotations

import numpy as np
import pytest

from mtneuro.report.predictions import PREDICTIONS_FILE, read_predictions, write_predictions
from mtneuro.tasks import region
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.volume import SplitData


def test_columns_round_trip_with_their_types(tmp_path):
    name = write_predictions({"seed": [0, 0], "true": ["0°", "CTX"], "error": [0.25, 1e-17]},
                             tmp_path)
    assert name == PREDICTIONS_FILE
    back = read_predictions(tmp_path)
    assert back["seed"].dtype == np.int64 and back["true"].tolist() == ["0°", "CTX"]
    assert back["error"].tolist() == [0.25, 1e-17]  # floats exactly as written


def test_columns_of_different_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="different lengths"):
        write_predictions({"seed": [0, 0], "true": [1]}, tmp_path)
    assert not (tmp_path / PREDICTIONS_FILE).exists()


def _splits() -> dict[str, SplitData]:
    rng = np.random.default_rng(0)
    return {split: SplitData(rng.integers(0, 256, (n, 1, 32, 32), dtype=np.uint8),
                             np.arange(n) % 4, 100 + 10 * np.arange(n))
            for split, n in (("train", 16), ("val", 8), ("test", 8))}


def test_task1_rows_are_each_scored_crop_and_their_hits_are_the_accuracy():
    config = TASK1.make_config(None, {"method": "pca", "seeds": [0, 1], "protocol": "resized",
                                      "input_size": 16, "n_components": 4})
    out = region.run_task1(config, _splits())
    rows = out["predictions"]
    n = out["n_test"]  # 8 tiles x 4 quadrants
    assert n == 32 and len(rows["seed"]) == 2 * n
    assert rows["seed"].tolist() == [0] * n + [1] * n
    assert rows["tile"][:8].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert rows["crop"][:4].tolist() == ["top-left", "top-right", "bottom-left", "bottom-right"]
    assert rows["z"][:8].tolist() == [100] * 4 + [110] * 4  # each tile's first slice
    assert rows["true"][:8].tolist() == ["CTX"] * 4 + ["STR"] * 4
    for i, seed_row in enumerate(out["per_seed"]):
        mine = rows["seed"] == i
        hits = rows["true"][mine] == rows["predicted"][mine]
        assert hits.mean() == pytest.approx(seed_row["accuracy"])
