"""Task 1 states its chance level: the accuracy of always predicting the most common region
of the training split on the scored test images, with counts whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtneuro.cli.main import main
from mtneuro.tasks.region import run_task1
from mtneuro.tasks.region_task import TASK1
from mtneuro.tasks.volume import SplitData

STR = 1  # region B of the brief: striatum, the second class


def _split(labels: list[int], seed: int, side: int = 16) -> SplitData:
    """Noise tiles: the readout's scores do not matter here, only the labels' counts."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (len(labels), 1, side, side), dtype=np.uint8)
    return SplitData(images, np.asarray(labels), np.arange(len(labels)))


def test_three_of_eight_test_tiles_of_the_training_majority_score_0_375():
    from mtneuro.tasks.region import majority_baseline

    train = np.array([0, STR, STR, STR, 2, 3, STR, 0, 2, 3])  # STR 4 of 10, the others 2
    test = np.array([STR, STR, STR, 0, 0, 2, 3, 3])
    assert majority_baseline(train, test) == {"class": "STR", "accuracy": 0.375}


def test_a_tie_goes_to_the_smallest_label():
    from mtneuro.tasks.region import majority_baseline

    assert majority_baseline(np.array([2, 2, 0, 0, 3]), np.array([0, 2]))["class"] == "CTX"
    assert majority_baseline(np.array([3, 3, 1, 1]), np.array([3, 3, 1, 0])) == {
        "class": "STR", "accuracy": 0.25}


# noise tiles: the readout says one region throughout, and warns so
@pytest.mark.filterwarnings("ignore:pca, seed")
def test_run_states_one_baseline_over_the_scored_quadrant_crops():
    """8 test tiles, 3 of them STR, scored as 32 quadrant crops: 12 of 32 is still 0.375,
    and the baseline is stated once for both seeds (the split does not follow the seed)."""
    data = {"train": _split([0, STR, STR, STR, 2, 3, STR, 0, 2, 3], 0),
            "val": _split([0, 1, 2, 3, 0, 1, 2, 3], 1),
            "test": _split([STR, STR, STR, 0, 0, 2, 3, 3], 2)}
    config = TASK1.make_config(None, {"method": "pca", "seeds": [0, 1], "protocol": "resized",
                                      "input_size": 8, "n_components": 4})
    result = run_task1(config, data)
    assert result["n_test"] == 32
    assert result.get("majority") == {"class": "STR", "accuracy": 0.375}
    assert all("majority" not in row for row in result["per_seed"])


def test_cli_line_names_the_majority_region_before_where_it_wrote(tmp_path, capsys):
    """The phantom holds one tile per region and slice: the training regions tie (-> CTX,
    the smallest label) and CTX is a quarter of the test tiles."""
    out = tmp_path / "pca"
    main(["task1", "--quick", "--method", "pca", "--z-step", "32", "--seeds", "0", "1",
          "--out", str(out)])
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics.get("majority") == {"class": "CTX", "accuracy": 0.25}
    assert printed.endswith(" (quadrants); always the most common training region (CTX): "
                            f"accuracy 0.250; wrote {out}/metrics.json")
