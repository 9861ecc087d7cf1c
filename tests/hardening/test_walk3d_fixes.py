"""Cards and interval units of 3D and CPU runs say what ran (walk3d)."""

from __future__ import annotations

import pytest

from mtneuro.tasks.segmentation.protocol import task2_card
from mtneuro.tasks.segmentation.task import TASK2

AMP = "train.amp (mixed precision on CUDA)"


@pytest.mark.parametrize(("device", "listed"), [("cpu", False), ("cuda", True)])
def test_task2_amp_auto_is_a_deviation_only_where_it_runs_mixed(device, listed):
    config = TASK2.make_config("quick", {"model": "unet", "device": device})
    assert config.train.amp == "auto"
    lines = task2_card(config, "bossdb")["deviations"]
    assert any(line.startswith(AMP) for line in lines) == listed, lines


def test_task1_3d_intervals_are_over_blocks():
    from mtneuro.tasks.region import run
    from mtneuro.tasks.region_task import TASK1

    config = TASK1.make_config(None, {"method": "pca", "quick": True, "seeds": [0],
                                      "dim": "3d"})
    intervals = run(config).metrics["per_seed"][0]["intervals"]["accuracy"]
    assert "test blocks of 8 slices" in str(intervals) and "tiles" not in str(intervals)
