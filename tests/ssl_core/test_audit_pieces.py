"""Mutation audit of the small pieces: loss precision and guards, EMA argument checks
and multi-pair EMA, head layout, schedule edges."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.ssl import MLPHead, make_head, normalized_mse, update_momentum
from mtneuro.ssl.momentum import TargetEMA
from mtneuro.ssl.schedules import (
    cosine_schedule,
    ema_momentum,
    lars_lr,
    linear_ramp,
    momentum_schedule,
    warmup_cosine_lr,
    warmup_lr,
)


# -- loss ---------------------------------------------------------------------------
def test_normalized_mse_is_computed_in_float32_for_bfloat16_inputs() -> None:
    # z = [1, 0.01] (bfloat16 0.010009765625): in bfloat16 |z| rounds to 1 and the loss
    # to 0; in float32 it is 2 - 2 cos = 2 - 2 / sqrt(1 + s^2) ~ 1.0e-4.
    p = torch.tensor([[1.0, 0.0]], dtype=torch.bfloat16)
    z = torch.tensor([[1.0, 0.01]], dtype=torch.bfloat16)
    s = z[0, 1].item()
    loss = normalized_mse(p, z)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(2 - 2 / math.sqrt(1 + s * s), rel=1e-3)


def test_normalized_mse_of_an_all_zero_row_is_finite() -> None:
    # eps keeps a zero prediction at cosine 0 (loss 2), not NaN.
    loss = normalized_mse(torch.zeros(1, 3), torch.tensor([[1.0, 2.0, 3.0]]))
    assert loss.item() == pytest.approx(2.0)


def test_normalized_mse_refuses_three_dimensional_input() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        normalized_mse(torch.ones(2, 3, 4), torch.ones(2, 3, 4))


# -- EMA ----------------------------------------------------------------------------
def test_update_momentum_refuses_negative_m_and_mismatched_modules() -> None:
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"-0.1"):
        update_momentum(online, target, -0.1)
    with pytest.raises(ValueError, match="online has 2 parameters, target has 1"):
        update_momentum(online, nn.Linear(3, 2, bias=False), 0.5)


def test_update_momentum_without_parameters_is_a_no_op() -> None:
    update_momentum(nn.Identity(), nn.Identity(), 0.5)  # MYOW's identity projector
    TargetEMA([(nn.Identity(), nn.Identity())])(torch.tensor(0.5))


def test_target_ema_moves_every_pair() -> None:
    pairs = [(nn.Linear(2, 2), nn.Linear(2, 2)), (nn.Linear(3, 1), nn.Linear(3, 1))]
    with torch.no_grad():
        for online, target in pairs:
            for o, t in zip(online.parameters(), target.parameters()):
                o.fill_(4.0)
                t.fill_(0.0)
    TargetEMA(pairs)(torch.tensor(0.25))  # weight 1 - m = 0.25: a quarter of the gap
    for _, target in pairs:
        assert all(torch.equal(t, torch.full_like(t, 1.0)) for t in target.parameters())


def test_target_ema_refuses_mismatched_pairs() -> None:
    with pytest.raises(ValueError, match="online has 2 parameters, target has 1"):
        TargetEMA([(nn.Linear(3, 2), nn.Linear(3, 2, bias=False))])


# -- heads --------------------------------------------------------------------------
def test_mlp_head_layout() -> None:
    with_bn, without_bn = MLPHead(4, 6, 3), MLPHead(4, 6, 3, batch_norm=False)
    # The first Linear has no bias before BatchNorm (redundant) and one without it.
    assert with_bn.net[0].bias is None and without_bn.net[0].bias is not None
    assert isinstance(with_bn.net[1], nn.BatchNorm1d)
    assert isinstance(without_bn.net[1], nn.Identity)
    assert with_bn.net[3].bias is not None and without_bn.net[3].bias is not None


def test_mlp_head_applies_relu_between_the_linears() -> None:
    head = MLPHead(1, 2, 1, batch_norm=False)
    with torch.no_grad():
        head.net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        head.net[0].bias.zero_()
        head.net[3].weight.copy_(torch.tensor([[1.0, 1.0]]))
        head.net[3].bias.zero_()
    # relu(x) + relu(-x) = |x|; without the ReLU the two would cancel to 0.
    assert head(torch.tensor([[3.0], [-2.0]])).flatten().tolist() == [3.0, 2.0]


def test_head_sizes_are_validated_and_defaulted() -> None:
    with pytest.raises(ConfigError, match="hidden_dim: expected int >= 1, got 0"):
        MLPHead(4, 0, 2)
    head, out = make_head(4, 8, None)
    assert out == 4 and head.net[3].out_features == 4


# -- schedules ----------------------------------------------------------------------
def test_cosine_schedule_refuses_zero_length() -> None:
    with pytest.raises(ValueError, match="max_steps: expected int >= 1, got 0"):
        cosine_schedule(0, 0, 1.0, 0.0)


def test_warmup_cosine_lr_with_warmup_over_the_whole_run() -> None:
    # warmup == total: a linear rise, then base_lr held (no cosine of length 0).
    assert [warmup_cosine_lr(s, 4, 4, 0.4) for s in (0, 3, 4, 9)] == pytest.approx(
        [0.0, 0.3, 0.4, 0.4])


@pytest.mark.parametrize(("step", "expected"), [(0, 0.025), (3, 0.1), (4, 0.1), (50, 0.1)])
def test_warmup_lr_constant_table(step: int, expected: float) -> None:
    assert warmup_lr(step, 10, 4, 0.1, decay="constant") == pytest.approx(expected)


def test_warmup_lr_cosine_and_no_warmup() -> None:
    assert warmup_lr(9, 14, 4, 0.1) == pytest.approx(0.05)  # the cosine branch
    # the neural warm-up is the same in both decays and moves at step 0 (image: from 0)
    assert [warmup_lr(s, 14, 4, 0.1) for s in range(4)] == pytest.approx(
        [0.025, 0.05, 0.075, 0.1])
    assert warmup_lr(0, 10, 0, 0.3, decay="constant") == pytest.approx(0.3)


def test_ema_momentum_constant_and_cosine() -> None:
    assert ema_momentum(50, 100, 0.996, "constant") == 0.996
    assert ema_momentum(50, 100, 0.996) == pytest.approx(0.998)


def test_momentum_schedule_refuses_base_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="1.5"):
        momentum_schedule(0, 10, 1.5)


def test_linear_ramp_edges() -> None:
    assert linear_ramp(5, 0, 0.7, start_step=5) == pytest.approx(0.7)  # jump at start
    assert linear_ramp(4, 0, 0.7, start_step=5) == 0.0
    with pytest.raises(ValueError, match="-1"):
        linear_ramp(3, 4, 1.0, start_step=-1)


def test_lars_lr_refuses_empty_batch() -> None:
    with pytest.raises(ValueError, match="batch_size: expected int >= 1, got 0"):
        lars_lr(0.3, 0)
