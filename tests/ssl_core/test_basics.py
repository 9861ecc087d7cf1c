"""Known answers: BYOL loss, EMA update, schedules, parameter groups, LARS."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mtneuro.errors import ConfigError
from mtneuro.ssl import (
    LARS,
    build_optimizer,
    cosine_schedule,
    deactivate_requires_grad,
    lars_lr,
    linear_ramp,
    momentum_schedule,
    normalized_mse,
    param_groups,
    update_momentum,
    warmup_cosine_lr,
)


# -- loss ---------------------------------------------------------------------------
def test_normalized_mse_known_values():
    e1, e2 = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 0.5]])
    assert normalized_mse(e1, e1 * 7).item() == pytest.approx(0.0, abs=1e-7)
    assert normalized_mse(e1, e2).item() == pytest.approx(2.0)
    assert normalized_mse(e1, -e1).item() == pytest.approx(4.0)
    # Mean over the batch: (0 + 2 + 4) / 3.
    p = torch.cat([e1, e1, e1])
    z = torch.cat([e1, e2, -e1])
    assert normalized_mse(p, z).item() == pytest.approx(2.0)
    # 60 degrees: 2 - 2 cos = 1.
    assert normalized_mse(
        torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, math.sqrt(3) / 2]])
    ).item() == pytest.approx(1.0)


def test_normalized_mse_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(4, 3\) and \(4, 2\)"):
        normalized_mse(torch.ones(4, 3), torch.ones(4, 2))


# -- EMA ----------------------------------------------------------------------------
def _pair():
    torch.manual_seed(0)
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    deactivate_requires_grad(target)
    return online, target


@pytest.mark.parametrize("m", [0.0, 0.5, 1.0, 0.996])
def test_update_momentum_formula(m):
    online, target = _pair()
    before = [t.clone() for t in target.parameters()]
    update_momentum(online, target, m)
    for o, t, t0 in zip(online.parameters(), target.parameters(), before):
        assert torch.allclose(t, m * t0 + (1 - m) * o, atol=1e-7)
        assert not t.requires_grad
    if m == 0.0:
        assert all(torch.equal(o, t) for o, t in zip(online.parameters(), target.parameters()))
    if m == 1.0:
        assert all(torch.equal(t, t0) for t, t0 in zip(target.parameters(), before))


def test_update_momentum_half_halves_the_gap():
    online, target = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    online.weight.data.fill_(4.0)
    target.weight.data.fill_(0.0)
    update_momentum(online, target, 0.5)
    assert target.weight.item() == 2.0


def test_update_momentum_rejects_bad_m():
    online, target = _pair()
    with pytest.raises(ValueError, match="1.5"):
        update_momentum(online, target, 1.5)


# -- schedules ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "step,expected",
    [(0, 1.0), (5, 0.5), (10, 0.0), (12, 0.0), (2, 0.5 + 0.5 * math.cos(math.pi * 0.2))],
)
def test_cosine_schedule_table(step, expected):
    assert cosine_schedule(step, 10, 1.0, 0.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    "step,expected",
    [
        (0, 0.0),  # warm-up step / 4 * 0.1, from 0 as MTNeuro's _linear_warmup
        (1, 0.025),
        (3, 0.075),
        (4, 0.1),
        (9, 0.05),
        (14, 0.0),
        (20, 0.0),  # cosine over steps 4..14
    ],
)
def test_warmup_cosine_lr_table(step, expected):
    assert warmup_cosine_lr(step, 14, 4, 0.1) == pytest.approx(expected)


def test_warmup_cosine_lr_final_lr_and_no_warmup():
    assert warmup_cosine_lr(0, 10, 0, 1.0, final_lr=0.5) == pytest.approx(1.0)
    assert warmup_cosine_lr(10, 10, 0, 1.0, final_lr=0.5) == pytest.approx(0.5)


@pytest.mark.parametrize("step,expected", [(0, 0.996), (50, 0.998), (100, 1.0)])
def test_momentum_schedule_table(step, expected):
    assert momentum_schedule(step, 100, 0.996) == pytest.approx(expected)


@pytest.mark.parametrize("step,expected", [(0, 0.0), (5, 0.05), (10, 0.1), (30, 0.1)])
def test_linear_ramp_table(step, expected):
    assert linear_ramp(step, 10, 0.1) == pytest.approx(expected)


def test_linear_ramp_with_start_and_zero_length():
    assert linear_ramp(3, 4, 1.0, start_step=5) == 0.0
    assert linear_ramp(7, 4, 1.0, start_step=5) == pytest.approx(0.5)
    assert linear_ramp(0, 0, 0.3) == pytest.approx(0.3)


def test_lars_rule():
    assert lars_lr(0.03, 8) == pytest.approx(0.03 * 8 / 256)


@pytest.mark.parametrize(
    "call",
    [
        lambda: cosine_schedule(-1, 10, 1, 0),
        lambda: warmup_cosine_lr(-3, 10, 2, 0.1),
        lambda: linear_ramp(-2, 10, 0.1),
    ],
)
def test_schedules_reject_negative_step(call):
    with pytest.raises(ValueError, match=r"got -\d"):
        call()


# -- optimisation -------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(2, 2)
        self.frozen = deactivate_requires_grad(nn.Linear(2, 2))


def test_param_groups_exclude_bias_and_norm():
    net = _Net()
    groups = param_groups(net, 5e-4)
    decay, no_decay = groups
    assert {id(p) for p in decay["params"]} == {id(net.conv.weight), id(net.fc.weight)}
    assert {id(p) for p in no_decay["params"]} == {
        id(net.conv.bias),
        id(net.bn.weight),
        id(net.bn.bias),
        id(net.fc.bias),
    }
    assert decay["weight_decay"] == 5e-4 and not decay["lars_exclude"]
    assert no_decay["weight_decay"] == 0.0 and no_decay["lars_exclude"]


def test_lars_step_hand_computed():
    # Weight w = [3, 4] (norm 5), gradient g = [0, 1], weight decay 0.1, eta 0.01:
    # d = g + 0.1 w = [0.3, 1.4], |d| = sqrt(0.09 + 1.96) = sqrt(2.05)
    # trust = 0.01 * 5 / sqrt(2.05); update = lr * trust * d (momentum buffer = d at step 1).
    w = nn.Parameter(torch.tensor([[3.0, 4.0]]))
    b = nn.Parameter(torch.tensor([1.0]))
    opt = LARS(
        [
            {"params": [w], "weight_decay": 0.1, "lars_exclude": False},
            {"params": [b], "weight_decay": 0.0, "lars_exclude": True},
        ],
        lr=2.0,
        momentum=0.9,
        eta=0.01,
    )
    w.grad = torch.tensor([[0.0, 1.0]])
    b.grad = torch.tensor([0.5])
    opt.step()
    trust = 0.01 * 5 / math.sqrt(2.05)
    expected = torch.tensor([[3.0, 4.0]]) - 2.0 * trust * torch.tensor([[0.3, 1.4]])
    assert torch.allclose(w, expected, atol=1e-6)
    assert b.item() == pytest.approx(1.0 - 2.0 * 0.5)  # excluded: plain SGD step
    # Second step: the momentum buffer carries 0.9 of the first update.
    w.grad = torch.tensor([[0.0, 1.0]])
    b.grad = torch.tensor([0.5])
    opt.step()
    assert b.item() == pytest.approx(0.0 - 2.0 * (0.9 * 0.5 + 0.5))


def test_build_optimizer_names():
    net = _Net()
    assert isinstance(build_optimizer("lars", net, 0.1, 1e-4), LARS)
    assert isinstance(build_optimizer("sgd", net, 0.1, 1e-4), torch.optim.SGD)
    adamw = build_optimizer("adamw", net, 1e-3, 1e-2)
    assert [g["weight_decay"] for g in adamw.param_groups] == [1e-2, 0.0]
    with pytest.raises(ConfigError, match="valid: sgd, lars, adamw"):
        build_optimizer("adam", net, 0.1, 0.0)
