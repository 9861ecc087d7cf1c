"""Known-answer walk-through of task-2 inference: a misspelt blend is named with the valid
ones before the windows run (MONAI, whose blending task 2 mirrors, reported it as "Seems to
be OOM. Please try smaller patch size")."""

from __future__ import annotations

import pytest
import torch

from mtneuro.errors import ConfigError
from mtneuro.tasks.segmentation.inference import sliding_window_logits


@pytest.mark.parametrize(("blend", "meant"), [("gaus", "gaussian"), ("Constant", "constant")])
def test_an_unknown_blend_is_named_with_the_valid_ones(blend: str, meant: str) -> None:
    images = torch.rand(1, 1, 16, 16)
    with pytest.raises(ConfigError) as info:
        sliding_window_logits(lambda x: x.clone(), images, (8, 8), blend=blend)
    assert str(info.value) == (f"unknown blend {blend!r} (did you mean {meant!r}?); "
                               f"valid: gaussian, constant")
    # the meant spelling blends an identity predictor back to the images
    blended = sliding_window_logits(lambda x: x.clone(), images, (8, 8), blend=meant)
    assert torch.allclose(blended, images)
