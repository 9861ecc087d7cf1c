"""mtneuro.models.encoder_hints: the dtype hint names exactly the non-float32 dtypes."""

from __future__ import annotations

import torch
from torch import nn

from mtneuro.models.encoder_hints import float32_hint


def test_a_float32_module_gets_no_hint_and_others_are_named():
    assert float32_hint(nn.Linear(2, 2)) is None
    assert float32_hint(nn.Sequential()) is None  # nothing floating: nothing to say
    half = float32_hint(nn.Linear(2, 2).half())
    assert half is not None and half.startswith("its weights are float16, but")
    mixed = nn.Sequential(nn.Linear(2, 2).bfloat16(), nn.BatchNorm1d(2).half(), nn.Linear(2, 2))
    assert float32_hint(mixed).startswith("its weights are bfloat16, float16, but")


def test_an_integer_buffer_is_not_mistaken_for_low_precision_weights():
    module = nn.BatchNorm1d(2)  # num_batches_tracked is int64
    assert module.num_batches_tracked.dtype == torch.int64
    assert float32_hint(module) is None
