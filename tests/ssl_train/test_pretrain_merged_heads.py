"""``myow-merged`` refuses cascaded-only head sizes other than their defaults; the quick
preset sets them (128 / 64) for every method, so pre-training leaves them out for it."""

from __future__ import annotations

import pytest

from mtneuro.models import create_encoder
from mtneuro.tasks.pretrain.config import make_config
from mtneuro.tasks.pretrain.run import build_method


@pytest.mark.parametrize("preset", ["quick", "default"])
def test_pretraining_builds_myow_merged_from_any_preset(preset: str) -> None:
    method = build_method(make_config(preset, {"method": "myow-merged"}),
                          create_encoder("resnet-tiny", widths=[4, 4]))
    assert method.layout == "merged" and method.predictor_m is None
