"""Precise BatchNorm: the running mean is the exact mean over the inputs, whatever the batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtneuro.tasks.supervised import recalibrate_batchnorm


@pytest.mark.parametrize("n_tens", [4, 1])
def test_running_mean_is_the_mean_over_every_sample(n_tens):
    # 256 zeros then a short last batch of tens: weighting batches equally gave mean 5.0; a
    # last batch of one sample would crash BatchNorm1d in training mode
    x = torch.cat([torch.zeros(256, 1), torch.full((n_tens, 1), 10.0)])
    model = nn.BatchNorm1d(1, momentum=0.1)
    recalibrate_batchnorm(model, x, batch_size=256)
    assert model.running_mean.item() == pytest.approx(10.0 * n_tens / (256 + n_tens))
    assert model.momentum == 0.1 and model.training  # restored
